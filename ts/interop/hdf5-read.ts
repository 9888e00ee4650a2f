/**
 * Reading float datasets out of an HDF5 file (a Keras `model.weights.h5`) with jsfive, a
 * pure-JavaScript reader: synchronous, about 80 kB minified, and it runs unchanged in
 * browsers. jsfive trusts the file, so everything here checks before asking it for data:
 * a dataset must be float32 or float64 and no larger than the file itself (Keras stores
 * weights uncompressed), so a crafted shape cannot make us allocate more than the file's
 * size justifies. Whatever jsfive throws on a malformed file (strings, RangeErrors)
 * becomes a CorruptDataError.
 */
import { Dataset, File, Group } from 'jsfive';
import { AutoencoderError, CorruptDataError, ValueError } from '../errors.js';

/** Bytes per element of the dtypes we read (NumPy spelling, either byte order). */
const FLOAT_SIZES: Record<string, number> = { '<f4': 4, '>f4': 4, '<f8': 8, '>f8': 8 };

export interface Hdf5Floats {
  readonly shape: number[];
  readonly data: Float32Array;
}

function corrupt(what: string, e: unknown): never {
  if (e instanceof AutoencoderError) throw e;
  const why = e instanceof Error ? e.message : String(e);
  throw new CorruptDataError(`not a readable HDF5 file: ${what} (${why})`);
}

export class Hdf5File {
  readonly #root: File;
  readonly #byteLength: number;

  /** Parses the superblock and root group; throws CorruptDataError when that fails. */
  constructor(bytes: Uint8Array) {
    this.#byteLength = bytes.byteLength;
    const signature = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
    if (bytes.byteLength < 48 || signature.some((b, i) => bytes[i] !== b))
      throw new CorruptDataError('not an HDF5 file: its first bytes are not the HDF5 signature');
    try {
      // jsfive wants an ArrayBuffer of its own: copy exactly the view's bytes.
      this.#root = new File(bytes.slice().buffer, 'model.weights.h5');
      void this.#root.keys;
    } catch (e) {
      corrupt('its superblock or root group', e);
    }
  }

  #get(path: string): Group | Dataset | undefined {
    let node: Group | Dataset = this.#root;
    for (const part of path.split('/').filter(Boolean)) {
      if (node instanceof Dataset) return undefined;
      const group: Group = node;
      try {
        if (!group.keys.includes(part)) return undefined;
        const child = group.get(part);
        if (!child) return undefined;
        node = child;
      } catch (e) {
        corrupt(`the object at ${path}`, e);
      }
    }
    return node;
  }

  /** Member names of the group at `path`, or undefined when there is no group there. */
  groupKeys(path: string): string[] | undefined {
    const node = this.#get(path);
    if (!node || node instanceof Dataset) return undefined;
    try {
      return node.keys;
    } catch (e) {
      corrupt(`the group ${path}`, e);
    }
  }

  /** The float dataset at `path` as float32; undefined when there is none. */
  readFloats(path: string): Hdf5Floats | undefined {
    const node = this.#get(path);
    if (!node) return undefined;
    if (!(node instanceof Dataset)) throw new CorruptDataError(`HDF5 ${path} is a group, not a dataset`);
    let shape: number[];
    let dtype: unknown;
    try {
      shape = Array.from(node.shape);
      dtype = node.dtype;
    } catch (e) {
      corrupt(`the header of ${path}`, e);
    }
    const itemSize = typeof dtype === 'string' ? FLOAT_SIZES[dtype] : undefined;
    if (itemSize === undefined)
      throw new ValueError(
        `HDF5 dataset ${path} holds ${JSON.stringify(dtype)} values; only float32 and float64 are read`,
      );
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw new CorruptDataError(`HDF5 dataset ${path} has an invalid shape [${shape.join(', ')}]`);
    const count = shape.reduce((a, b) => a * b, 1);
    // Before jsfive allocates anything for it: uncompressed data cannot be larger than the file.
    if (count * itemSize > this.#byteLength)
      throw new CorruptDataError(
        `HDF5 dataset ${path} claims shape [${shape.join(', ')}] (${count * itemSize} bytes), more than the whole ${this.#byteLength}-byte file`,
      );
    let values: ArrayLike<number>;
    try {
      values = node.value;
    } catch (e) {
      corrupt(`the data of ${path}`, e);
    }
    if (!values || values.length !== count)
      throw new CorruptDataError(`HDF5 dataset ${path}: its data does not fill shape [${shape.join(', ')}]`);
    const data = Float32Array.from(values);
    return { shape, data };
  }
}
