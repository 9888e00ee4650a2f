// No leaks over long runs (scripts/soak.mjs, on the built package, in a child process with
// --expose-gc): create → fit → predict → dispose cycles and repeated fits keep the Wasm
// memory flat after warm-up; models dropped without dispose() are freed by the garbage
// collector (wasm-bindgen's FinalizationRegistry), so their memory stays bounded. The
// script's full-size run (1,000 cycles, 10,000 fits, 300 dropped) is in docs/reliability.md.
import { describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from './support/dist.js';
import { runNode } from './support/harness.js';

interface Phase {
  iterations: number;
  wasmAfterWarmupMB: number;
  wasmEndMB: number;
  wasmGrowthPercent: number;
}

describe('soak', () => {
  it('cycles and repeated fits keep the Wasm memory flat; dropped models are collected', async () => {
    assertBuilt(['index.js']);
    const run = await runNode(
      ['--expose-gc', 'scripts/soak.mjs', '--cycles', '200', '--fits', '2000', '--dropped', '150', '--json'],
      { cwd: ROOT, timeoutMs: 100_000 },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as Record<'cycles' | 'fits' | 'dropped', Phase>;
    expect(r.cycles.iterations).toBe(200);
    expect(r.cycles.wasmGrowthPercent).toBeLessThan(5);
    expect(r.fits.wasmGrowthPercent).toBeLessThan(5);
    // 150 deep models hold 2.7 GB if none is freed; collected, a few dozen live at most.
    expect(r.dropped.wasmEndMB).toBeLessThan(1024);
  });
});
