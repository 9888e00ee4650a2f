/**
 * A minimal HDF5 writer: nested groups of little-endian float32 datasets, which is all a
 * Keras 3 `model.weights.h5` holds for our layers. No JavaScript library writes HDF5 short
 * of h5wasm (libhdf5 in 5.6 MB of Wasm behind an async start-up), so we write the format's
 * "latest" flavour, the one h5py writes with `libver='latest'`:
 *
 *   superblock v2 → root group object header (v2, "OHDR")
 *   group:   Link Info + Group Info + one hard Link message per child (compact storage)
 *   dataset: Dataspace v2 + Datatype (IEEE float32 LE) + Fill Value v3 + Layout v3 (contiguous)
 *   then every dataset's raw bytes.
 *
 * Every field below is named after the HDF5 File Format Specification 3.0, section IV.
 */
import { ValueError } from '../errors.js';
import { lookup3 } from './hdf5-lookup3.js';

export interface Hdf5Dataset {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A group: child name -> group or dataset. */
export interface Hdf5Group {
  readonly [name: string]: Hdf5Group | Hdf5Dataset;
}

const UNDEFINED_ADDRESS = 0xffffffffffffffffn;
const SUPERBLOCK_SIZE = 48;
/** "OHDR", version, flags, 4-byte chunk size ... checksum. */
const OHDR_OVERHEAD = 4 + 1 + 1 + 4 + 4;
const MESSAGE_HEADER = 4;

const MSG_DATASPACE = 0x01;
const MSG_LINK_INFO = 0x02;
const MSG_DATATYPE = 0x03;
const MSG_FILL_VALUE = 0x05;
const MSG_LINK = 0x06;
const MSG_LAYOUT = 0x08;
const MSG_GROUP_INFO = 0x0a;

function isDataset(node: Hdf5Group | Hdf5Dataset): node is Hdf5Dataset {
  return (node as Hdf5Dataset).data instanceof Float32Array;
}

interface Message {
  type: number;
  flags: number;
  body: Uint8Array;
}

/** One object (group or dataset) with its place in the file, filled in by the layout pass. */
interface Planned {
  node: Hdf5Group | Hdf5Dataset;
  headerAddress: number;
  headerSize: number;
  children: [string, Planned][];
  dataAddress: number;
}

class Bytes {
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  u8(at: number, v: number): void {
    this.view.setUint8(at, v);
  }
  u16(at: number, v: number): void {
    this.view.setUint16(at, v, true);
  }
  u32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  u64(at: number, v: number | bigint): void {
    this.view.setBigUint64(at, BigInt(v), true);
  }
}

function message(type: number, size: number, fill: (b: Bytes) => void, flags = 0): Message {
  const body = new Uint8Array(size);
  fill(new Bytes(body));
  return { type, flags, body };
}

const encoder = new TextEncoder();

function groupMessages(children: [string, Planned][]): Message[] {
  const messages = [
    // Link Info v0: no creation order, no dense storage (fractal heap and B-tree undefined).
    message(MSG_LINK_INFO, 18, (b) => {
      b.u64(2, UNDEFINED_ADDRESS);
      b.u64(10, UNDEFINED_ADDRESS);
    }),
    // Group Info v0: no phase-change or estimate fields: the library's defaults.
    message(MSG_GROUP_INFO, 2, () => {}),
  ];
  for (const [name, child] of children) {
    const utf8 = encoder.encode(name);
    // Link v1: flags 0x10 = a character-set field follows (UTF-8); a 1-byte name length; a hard link.
    messages.push(
      message(MSG_LINK, 3 + 1 + utf8.length + 8, (b) => {
        b.u8(0, 1);
        b.u8(1, 0x10);
        b.u8(2, 1);
        b.u8(3, utf8.length);
        b.buf.set(utf8, 4);
        b.u64(4 + utf8.length, child.headerAddress);
      }),
    );
  }
  return messages;
}

function datasetMessages(d: Hdf5Dataset, dataAddress: number): Message[] {
  const rank = d.shape.length;
  return [
    // Dataspace v2: simple, no maximum dimensions.
    message(MSG_DATASPACE, 4 + 8 * rank, (b) => {
      b.u8(0, 2);
      b.u8(1, rank);
      b.u8(2, 0);
      b.u8(3, 1);
      d.shape.forEach((n, i) => b.u64(4 + 8 * i, n));
    }),
    // Datatype v1, class 1 (floating point): little-endian IEEE binary32, flagged constant as libhdf5 does.
    message(
      MSG_DATATYPE,
      20,
      (b) => {
        b.u8(0, 0x11);
        b.u8(1, 0x20); // byte order LE, zero padding, mantissa normalisation "implied"
        b.u8(2, 31); // sign bit location
        b.u32(4, 4); // size in bytes
        b.u16(8, 0); // bit offset
        b.u16(10, 32); // bit precision
        b.u8(12, 23); // exponent location
        b.u8(13, 8); // exponent size
        b.u8(14, 0); // mantissa location
        b.u8(15, 23); // mantissa size
        b.u32(16, 127); // exponent bias
      },
      1,
    ),
    // Fill Value v3: allocated late, written if set, none defined (h5py's defaults).
    message(MSG_FILL_VALUE, 2, (b) => {
      b.u8(0, 3);
      b.u8(1, 0x0a);
    }),
    // Data Layout v3, contiguous: where the raw bytes are and how many.
    message(MSG_LAYOUT, 18, (b) => {
      b.u8(0, 3);
      b.u8(1, 1);
      b.u64(2, dataAddress);
      b.u64(10, d.data.byteLength);
    }),
  ];
}

function headerSize(messages: Message[]): number {
  return OHDR_OVERHEAD + messages.reduce((n, m) => n + MESSAGE_HEADER + m.body.length, 0);
}

function writeHeader(out: Bytes, at: number, messages: Message[]): void {
  const size = headerSize(messages);
  out.buf.set(encoder.encode('OHDR'), at);
  out.u8(at + 4, 2); // version
  out.u8(at + 5, 2); // flags: chunk #0's size is 4 bytes; no times, no attribute phase change
  out.u32(at + 6, size - OHDR_OVERHEAD);
  let p = at + 10;
  for (const m of messages) {
    out.u8(p, m.type);
    out.u16(p + 1, m.body.length);
    out.u8(p + 3, m.flags);
    out.buf.set(m.body, p + MESSAGE_HEADER);
    p += MESSAGE_HEADER + m.body.length;
  }
  out.u32(p, lookup3(out.buf.subarray(at, p)));
}

function validate(group: Hdf5Group, path: string): void {
  for (const [name, node] of Object.entries(group)) {
    const where = `${path}/${name}`;
    const length = encoder.encode(name).length;
    if (length === 0 || length > 255 || name.includes('/') || name === '.')
      throw new ValueError(`HDF5 name ${JSON.stringify(where)}: names must be 1–255 bytes without "/"`);
    if (!isDataset(node)) {
      validate(node, where);
      continue;
    }
    const size = node.shape.reduce((a, n) => a * n, 1);
    if (
      node.shape.length === 0 ||
      node.shape.some((n) => !Number.isSafeInteger(n) || n < 1) ||
      size !== node.data.length
    )
      throw new ValueError(`HDF5 dataset ${where}: shape [${node.shape}] does not hold its ${node.data.length} floats`);
  }
}

/** The bytes of an HDF5 file holding `root`'s groups and float32 datasets. */
export function writeHdf5(root: Hdf5Group): Uint8Array {
  validate(root, '');
  // Pass 1: place every object header (preorder), then every dataset's bytes, 8-byte aligned.
  const all: Planned[] = [];
  const plan = (node: Hdf5Group | Hdf5Dataset): Planned => {
    const planned: Planned = { node, headerAddress: 0, headerSize: 0, children: [], dataAddress: 0 };
    all.push(planned);
    if (!isDataset(node)) planned.children = Object.entries(node).map(([name, child]) => [name, plan(child)]);
    return planned;
  };
  const top = plan(root);
  let end = SUPERBLOCK_SIZE;
  for (const p of all) {
    // Sizes do not depend on addresses, so measure with placeholders.
    p.headerSize = headerSize(isDataset(p.node) ? datasetMessages(p.node, 0) : groupMessages(p.children));
    p.headerAddress = end;
    end += p.headerSize;
  }
  for (const p of all) {
    if (!isDataset(p.node)) continue;
    end = Math.ceil(end / 8) * 8;
    p.dataAddress = end;
    end += p.node.data.byteLength;
  }
  // Pass 2: write.
  const out = new Bytes(new Uint8Array(end));
  out.buf.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  out.u8(8, 2); // superblock version
  out.u8(9, 8); // size of offsets
  out.u8(10, 8); // size of lengths
  out.u8(11, 0); // file consistency flags
  out.u64(12, 0); // base address
  out.u64(20, UNDEFINED_ADDRESS); // superblock extension
  out.u64(28, end); // end of file
  out.u64(36, top.headerAddress);
  out.u32(44, lookup3(out.buf.subarray(0, 44)));
  for (const p of all) {
    if (isDataset(p.node)) {
      writeHeader(out, p.headerAddress, datasetMessages(p.node, p.dataAddress));
      const d = p.node.data;
      // Float32Array is platform-endian; HDF5's is declared little-endian above, so go through DataView.
      for (let i = 0; i < d.length; i++) out.view.setFloat32(p.dataAddress + 4 * i, d[i], true);
    } else {
      writeHeader(out, p.headerAddress, groupMessages(p.children));
    }
  }
  return out.buf;
}
