// @ts-check
// Minimal .npy (format 1.0, little-endian float32, C order) writer and row-range reader,
// so Node and Python read byte-identical MNIST arrays.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

/** Writes a Float32Array as an .npy file of the given shape. */
export function writeNpy(path, data, shape) {
  if (!(data instanceof Float32Array)) throw new TypeError('writeNpy: Float32Array expected');
  if (shape.reduce((a, b) => a * b, 1) !== data.length)
    throw new Error(`writeNpy: shape ${shape} does not match ${data.length} elements`);
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, pre);
    writeSync(fd, Buffer.from(header, 'latin1'));
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let off = 0; off < bytes.length; off += 1 << 26)
      writeSync(fd, bytes.subarray(off, Math.min(bytes.length, off + (1 << 26))));
  } finally {
    closeSync(fd);
  }
}

/** Reads the header of an .npy file written by writeNpy: { shape, dataOffset }. */
function readHeader(fd, path) {
  const pre = Buffer.alloc(10);
  readSync(fd, pre, 0, 10, 0);
  if (pre.toString('latin1', 0, 6) !== '\x93NUMPY' || pre[6] !== 1) throw new Error(`${path}: not an .npy v1 file`);
  const len = pre.readUInt16LE(8);
  const header = Buffer.alloc(len);
  readSync(fd, header, 0, len, 10);
  const text = header.toString('latin1');
  if (!text.includes("'<f4'") || text.includes("'fortran_order': True"))
    throw new Error(`${path}: expected C-order little-endian float32`);
  // An .npy v1 header always names the shape.
  const shape = /** @type {RegExpExecArray} */ (/'shape': \(([^)]*)\)/.exec(text))[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  return { shape, dataOffset: 10 + len };
}

/** Reads rows [start, start + count) (along the first axis) of an .npy float32 array. */
export function readNpyRows(path, start = 0, count = Infinity) {
  const fd = openSync(path, 'r');
  try {
    const { shape, dataOffset } = readHeader(fd, path);
    const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
    const n = Math.max(0, Math.min(count, shape[0] - start));
    const out = new Float32Array(n * rowSize);
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(
        fd,
        bytes,
        done,
        Math.min(bytes.length - done, 1 << 26),
        dataOffset + start * rowSize * 4 + done,
      );
      if (got === 0) throw new Error(`${path}: truncated`);
      done += got;
    }
    return { data: out, shape: [n, ...shape.slice(1)], totalRows: shape[0] };
  } finally {
    closeSync(fd);
  }
}
