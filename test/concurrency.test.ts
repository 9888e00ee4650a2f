// Concurrency gives the results of running one thing after the other: two models whose
// fits interleave on the main thread (fit yields between batches), two trainers training
// at once, and a model predicting on the main thread between the batches another model
// trains on the threads pool.
import { describe, expect, it } from 'vitest';
import { firstDifference } from './support/assertions.js';
import { distUrl, importBuiltSdk } from './support/dist.js';
import { runModule } from './support/harness.js';

const sdk = await importBuiltSdk(['worker.js', 'wasm_autoencoders_threads_bg.wasm']);

function data(n: number, seed: number) {
  let s = seed;
  return sdk.tensor(
    new Float32Array(n * 784).map(() => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32),
    [n, 784],
  );
}
const fitOpts = { epochs: 3, batchSize: 16, seed: 3, validationSplit: 0.25 };

describe('concurrency', () => {
  it('two models fitting at once on the main thread = one after the other', async () => {
    await sdk.init({ threads: 1 });
    const x = data(64, 1);
    const y = data(64, 2);
    const alone = async (seed: number, d: typeof x) => {
      const m = sdk.vanilla({ seed });
      await m.fit(d, d, fitOpts);
      const bytes = m.toBytes({ includeOptimizer: true });
      m.dispose();
      return bytes;
    };
    const [a1, b1] = [await alone(1, x), await alone(2, y)];
    const a = sdk.vanilla({ seed: 1 });
    const b = sdk.vanilla({ seed: 2 });
    let interleavings = 0;
    let last = '';
    const mark = (who: string) => () => {
      if (last && last !== who) interleavings++;
      last = who;
    };
    await Promise.all([
      a.fit(x, x, { ...fitOpts, onBatchEnd: mark('a') }),
      b.fit(y, y, { ...fitOpts, onBatchEnd: mark('b') }),
    ]);
    expect(interleavings).toBeGreaterThan(4); // they really alternated
    expect(firstDifference(a.toBytes({ includeOptimizer: true }), a1)).toBe(-1);
    expect(firstDifference(b.toBytes({ includeOptimizer: true }), b1)).toBe(-1);
    a.dispose();
    b.dispose();
  });

  it('two trainers training at once = one after the other', async () => {
    const x = data(64, 5);
    const run = async (trainer: Awaited<ReturnType<typeof sdk.spawnTrainer>>, seed: number) => {
      const m = await trainer.create('vanilla', { seed });
      await m.fit(x, x, fitOpts);
      const bytes = await m.toBytes({ includeOptimizer: true });
      await m.dispose();
      return bytes;
    };
    const [t1, t2] = await Promise.all([sdk.spawnTrainer({ threads: 1 }), sdk.spawnTrainer({ threads: 1 })]);
    try {
      const together = await Promise.all([run(t1, 1), run(t2, 2)]);
      const apart = [await run(t1, 1), await run(t2, 2)];
      expect(firstDifference(together[0], apart[0])).toBe(-1);
      expect(firstDifference(together[1], apart[1])).toBe(-1);
      expect(firstDifference(together[0], together[1])).not.toBe(-1);
    } finally {
      await Promise.all([t1.terminate(), t2.terminate()]);
    }
  });

  it('predicting on the main thread between the batches of a fit on the threads pool', async () => {
    // In a child process: init({ threads: 2 }) starts the pool for the whole process.
    const run = await runModule(
      [
        `const ae = await import(${JSON.stringify(distUrl('index.js'))});`,
        'await ae.init({ threads: 2 });',
        'let s = 9; const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);',
        'const x = ae.tensor(new Float32Array(128 * 784).map(rand), [128, 28, 28, 1]);',
        'const probe = ae.tensor(new Float32Array(8 * 784).map(rand), [8, 28, 28, 1]);',
        'const opts = { epochs: 2, batchSize: 32, seed: 4 };',
        // Alone: the fit, then the predictions.
        'const a1 = ae.convolutional({ seed: 1 }); await a1.fit(x, x, opts);',
        'const b1 = ae.convolutional({ seed: 2 }); const p1 = b1.predict(probe).data;',
        // Together: the second model predicts after every batch of the first's fit.
        'const a2 = ae.convolutional({ seed: 1 }); const b2 = ae.convolutional({ seed: 2 });',
        'const seen = []; await a2.fit(x, x, { ...opts, onBatchEnd: () => { seen.push(b2.predict(probe).data); } });',
        'const same = (p, q) => p.length === q.length && p.every((v, i) => Object.is(v, q[i]));',
        'const w1 = a1.toBytes({ includeOptimizer: true }), w2 = a2.toBytes({ includeOptimizer: true });',
        'console.log(JSON.stringify({ threads: ae.threadCount(), batches: seen.length,',
        '  predictionsSame: seen.every((p) => same(p, p1)), fitSame: same(w1, w2) }));',
      ],
      { timeoutMs: 100_000 },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ threads: 2, batches: 8, predictionsSame: true, fitSame: true });
  });
});
