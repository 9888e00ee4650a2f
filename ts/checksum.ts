/**
 * CRC-32 (IEEE 802.3; reflected polynomial 0xEDB88320, as in zlib, PNG and
 * gzip), table-driven.  Used by the model file format.
 */
import { ValueError } from './errors.js';
import { assertInteger, describeValue } from './validate.js';

let TABLE: Uint32Array | undefined;

function table(): Uint32Array {
  if (TABLE) return TABLE;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  TABLE = t;
  return t;
}

/**
 * CRC-32 of `bytes[start, end)` (defaults: the whole array), as an unsigned
 * 32-bit integer.  `crc32(new TextEncoder().encode('123456789')) === 0xCBF43926`.
 *
 * Pass the CRC of the preceding bytes as `previous` to continue a running
 * checksum: `crc32(b, 0, k)` then `crc32(b, k, n, thatCrc)` equals `crc32(b)`.
 */
export function crc32(bytes: Uint8Array, start = 0, end?: number, previous = 0): number {
  if (!(bytes instanceof Uint8Array)) {
    throw new ValueError(`bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  }
  const e = end === undefined ? bytes.length : end;
  assertInteger('start', start, { min: 0, max: bytes.length });
  assertInteger('end', e, { min: start, max: bytes.length });
  assertInteger('previous', previous, { min: 0, max: 0xffffffff });
  const t = table();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = start; i < e; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
