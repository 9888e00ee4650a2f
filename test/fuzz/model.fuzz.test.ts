// Hostile model files (issue 13, point 1), through Autoencoder.fromBytes: random, mutated
// (with the CRC-32 recomputed, so the header and weights are reached), with mutated JSON
// headers and extreme size fields: each loads right or throws CorruptDataError, within a
// time bound, without growing Wasm memory past a multiple of the file's size.
import { beforeAll, describe, expect, it } from 'vitest';
import { Autoencoder, CorruptDataError } from '../../ts/index.js';
import { hugeModelFiles, modelFile, modelTarget, wasmMemoryBytes, type ModelContext } from './model-target.js';
import { fixCrc, seededBytes } from './mutate.js';
import { fuzzProperty } from './run.js';

let ctx: ModelContext;
beforeAll(async () => {
  ctx = await modelTarget.setup();
});

const huge = (name: string) => hugeModelFiles().find((f) => f.name.startsWith(name))!.bytes;

/** fromBytes(bytes): its error, the time it took and how much Wasm memory grew. */
function load(bytes: Uint8Array) {
  const memory = wasmMemoryBytes();
  const t0 = performance.now();
  let error: unknown;
  try {
    Autoencoder.fromBytes(bytes).dispose();
  } catch (e) {
    error = e;
  }
  return { error, ms: performance.now() - t0, grown: wasmMemoryBytes() - memory };
}

describe('model files never crash or hang', () => {
  // First, while Wasm memory is still small: a growth is then seen.
  it('a 280-byte file claiming 25 M weights is refused before its architecture is built (ts/shapes.ts counts them first)', () => {
    const { error, grown } = load(huge('dense 5000 → 5000'));
    expect(error).toBeInstanceOf(CorruptDataError);
    expect(grown).toBeLessThan(16 * 280 + 2 * 2 ** 20);
  });

  it('a Dense 65536 → 65536 layer (2^32 weights, 0 after wrapping to u32) is refused, counted in float64 before Wasm', () => {
    // The file holds exactly what the wrapped-around count asks for: 65536 biases, then 65537.
    const bytes = modelFile(
      {
        inputShape: [65536],
        encoderLength: 1,
        layers: [
          { kind: 'dense', units: 65536, activation: 'relu' },
          { kind: 'dense', units: 1, activation: 'relu' },
        ],
        compile: { optimizer: 'adam', loss: 'mse' },
      },
      131073,
      new Uint8Array(4 * 131073),
      1,
    );
    expect(load(bytes).error).toBeInstanceOf(CorruptDataError);
  });

  it('an input dimension of 2^32 + 784 (784 after wrapping to u32) is refused before it reaches Wasm', () => {
    const v = ctx.valid.find((m) => m.name === 'vanilla(2) float32')!;
    const header = { ...v.header, inputShape: [2 ** 32 + 784] };
    const bytes = modelFile(header as never, v.weights.length, new Uint8Array(v.weights.buffer), 1);
    expect(load(bytes).error).toBeInstanceOf(CorruptDataError);
  });

  it('3,000 cases: each loads right or throws CorruptDataError, within 2 s', async () => {
    const stats = await fuzzProperty(modelTarget, ctx, { numRuns: 3000, timeLimitMs: 2000 });
    expect(stats.ok).toBeGreaterThan(150);
    expect(stats.typed).toBeGreaterThan(1500);
  });

  it('refuses size fields and shapes it cannot hold, fast and without allocating', () => {
    const valid = ctx.valid[0].bytes;
    const withU32 = (at: number, value: number) => {
      const b = valid.slice();
      new DataView(b.buffer).setUint32(at, value, true);
      return fixCrc(b);
    };
    const headerLength = new DataView(valid.buffer).getUint32(8, true);
    const countAt = Math.ceil((12 + headerLength) / 4) * 4;
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'weight count 2^32 - 1',
        withU32(countAt, 0xffffffff),
        /4294967295 float32 weights need 17179869\d+ bytes in all/,
      ],
      ['header length 2^32 - 1', withU32(8, 0xffffffff), /header length 4294967295 runs past the end/],
      ['10^9 × 10^9 images', huge('conv on 10^9'), /has too many elements/],
      ['10^9 → 10^9 weights', huge('dense 1e9'), /architecture is invalid/],
      ['a truncated file', valid.subarray(0, 100), /checksum mismatch/],
      ['random bytes with a valid CRC', fixCrc(seededBytes(1, 400)), /does not start with "WAAE"/],
    ];
    for (const [name, bytes, message] of cases) {
      const { error, ms, grown } = load(bytes);
      expect(error, name).toBeInstanceOf(CorruptDataError);
      expect((error as Error).message, name).toMatch(message);
      expect(ms, name).toBeLessThan(500);
      expect(grown, name).toBeLessThan(2 * 2 ** 20);
    }
  });
});
