/**
 * The framing our binary files share (the model file, the CLI's code file): little-endian,
 *
 *   0  magic                 4 ASCII bytes naming the kind of file
 *   4  u32 version
 *   8  u32 headerLength      bytes of UTF-8 JSON that follow
 *  12  header JSON           an object
 *   …  zero padding to a multiple of 4
 *   …  the payload           (its layout is the file kind's)
 *   …  u32 CRC-32 of every byte before it
 *
 * Reading checks everything here (magic, a known version, the checksum, the header's
 * bounds and JSON) before the caller looks at the payload.
 */
import { crc32 } from './checksum.js';
import { isPlainObject } from './validate.js';

/** Where a container's payload starts, for a header of `headerLength` bytes. */
export function payloadOffset(headerLength: number): number {
  return Math.ceil((12 + headerLength) / 4) * 4;
}

/** A container with room for `payloadLength` bytes, which `fill` writes at `offset`. */
export function writeContainer(
  magic: string,
  version: number,
  header: Record<string, unknown>,
  payloadLength: number,
  fill: (view: DataView, offset: number) => void,
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const offset = payloadOffset(json.length);
  const total = offset + payloadLength + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(magic), 0);
  view.setUint32(4, version, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, 12);
  fill(view, offset);
  view.setUint32(total - 4, crc32(bytes, 0, total - 4), true);
  return bytes;
}

export interface Container {
  version: number;
  header: Record<string, unknown>;
  view: DataView;
  /** Where the payload starts; it ends 4 bytes before the end (the checksum). */
  offset: number;
  payloadLength: number;
}

export interface ContainerKind {
  magic: string;
  versions: readonly number[];
  /** Makes the error for a file that is not valid, from the reason. */
  corrupt: (why: string) => Error;
  /** The smallest valid file (default: an empty header and payload, 16 bytes). */
  minLength?: number;
}

export function readContainer(bytes: Uint8Array, kind: ContainerKind): Container {
  const { corrupt } = kind;
  const minLength = kind.minLength ?? 16;
  if (bytes.length < minLength) throw corrupt(`only ${bytes.length} bytes, the file has at least ${minLength}`);
  const magic = new TextEncoder().encode(kind.magic);
  if (!magic.every((b, i) => bytes[i] === b)) throw corrupt(`it does not start with "${kind.magic}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (!kind.versions.includes(version)) {
    throw corrupt(`format version ${version}, this library reads version ${kind.versions.join(' or ')}`);
  }
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes, 0, bytes.length - 4);
  if (stored !== actual) {
    throw corrupt(`checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}): truncated or modified`);
  }
  const headerLength = view.getUint32(8, true);
  const offset = payloadOffset(headerLength);
  if (offset > bytes.length - 4) throw corrupt(`header length ${headerLength} runs past the end`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    throw corrupt(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw corrupt('header is not an object');
  return { version, header, view, offset, payloadLength: bytes.length - 4 - offset };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
