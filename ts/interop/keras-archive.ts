/**
 * The zip container of a Keras 3 `.keras` file: `metadata.json`, `config.json` and
 * `model.weights.h5`. fflate reads and writes it synchronously in Node and browsers (about
 * 12 kB minified for what we use). Nothing is inflated before its declared size has been
 * checked against a limit and against what its compressed size can justify, so a small
 * crafted zip cannot make us allocate much.
 */
import { unzipSync, zipSync, type UnzipFileInfo } from 'fflate';
import { AutoencoderError, CorruptDataError, ValueError } from '../errors.js';

export const CONFIG_ENTRY = 'config.json';
export const METADATA_ENTRY = 'metadata.json';
export const WEIGHTS_ENTRY = 'model.weights.h5';

/** JSON entries larger than this are refused: a config of thousands of layers is far smaller. */
export const MAX_JSON_BYTES = 8 * 2 ** 20;

/** Deflate cannot expand more than 1032:1; a larger declared size is a lie. */
const MAX_DEFLATE_RATIO = 1032;
const STORED = 0;
const DEFLATED = 8;

export interface ArchiveEntry {
  readonly name: string;
  /** The uncompressed size the zip declares. */
  readonly size: number;
  readonly compressedSize: number;
  readonly compression: number;
}

function badZip(e: unknown): never {
  if (e instanceof AutoencoderError) throw e;
  throw new CorruptDataError(
    `not a .keras file: it is not a readable zip archive (${e instanceof Error ? e.message : String(e)})`,
  );
}

/** The archive's entries from its central directory; nothing is inflated. */
export function listArchive(bytes: Uint8Array): Map<string, ArchiveEntry> {
  if (!(bytes instanceof Uint8Array)) throw new ValueError('a .keras file must be given as a Uint8Array');
  const entries = new Map<string, ArchiveEntry>();
  try {
    unzipSync(bytes, {
      filter: (f: UnzipFileInfo) => {
        entries.set(f.name, { name: f.name, size: f.originalSize, compressedSize: f.size, compression: f.compression });
        return false;
      },
    });
  } catch (e) {
    badZip(e);
  }
  return entries;
}

/**
 * One entry's bytes, refused (before inflating it) when it is missing, uses a compression
 * other than stored/deflate, declares more than `maxSize` bytes or more than its
 * compressed size can hold.
 */
export function readEntry(
  bytes: Uint8Array,
  entries: Map<string, ArchiveEntry>,
  name: string,
  maxSize: number,
): Uint8Array {
  const entry = entries.get(name);
  if (!entry) throw new CorruptDataError(`not a Keras 3 .keras file: it has no ${name}`);
  if (entry.compression !== STORED && entry.compression !== DEFLATED)
    throw new ValueError(
      `.keras entry ${name} uses zip compression method ${entry.compression}; only stored (0) and deflate (8) are read`,
    );
  const possible = entry.compression === STORED ? entry.compressedSize : entry.compressedSize * MAX_DEFLATE_RATIO + 64;
  if (entry.size > possible)
    throw new CorruptDataError(
      `.keras entry ${name} declares ${entry.size} bytes, more than its ${entry.compressedSize} compressed bytes can hold`,
    );
  if (entry.size > maxSize)
    throw new ValueError(`.keras entry ${name} is ${entry.size} bytes; at most ${maxSize} are accepted for it`);
  let out: Uint8Array | undefined;
  try {
    out = unzipSync(bytes, { filter: (f) => f.name === name })[name];
  } catch (e) {
    badZip(e);
  }
  if (!out || out.length !== entry.size)
    throw new CorruptDataError(
      `.keras entry ${name} inflates to ${out?.length ?? 0} bytes, not the ${entry.size} it declares`,
    );
  return out;
}

/** A JSON entry, parsed; CorruptDataError when it is not JSON. */
export function readJsonEntry(bytes: Uint8Array, entries: Map<string, ArchiveEntry>, name: string): unknown {
  const raw = readEntry(bytes, entries, name, MAX_JSON_BYTES);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    throw new CorruptDataError(`.keras entry ${name} is not valid UTF-8 JSON (${(e as Error).message})`);
  }
}

/** A zip of the given entries, stored uncompressed as Keras itself writes them. */
export function writeArchive(files: Record<string, Uint8Array>): Uint8Array {
  return zipSync(files, { level: 0 });
}
