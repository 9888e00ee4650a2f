// The supply chain (scripts/supply-chain.mjs): installing the package runs no code (no
// install scripts in it or its runtime dependencies), and its bundles fetch no absolute URL.
import { describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from './support/dist.js';
import { runNode } from './support/harness.js';

describe('supply chain', () => {
  it('no install scripts, no URLs fetched at run time, the Rust crates listed', async () => {
    assertBuilt(['index.js']);
    const run = await runNode(['scripts/supply-chain.mjs'], { cwd: ROOT, timeoutMs: 100_000 });
    expect(run.stdout).toMatch(/wasm-autoencoders@[\d.]+: no install scripts/);
    expect(run.stdout).toMatch(/\d+ files, 0 absolute URLs fetched or imported/);
    expect(run.stdout).toMatch(/wasm-bindgen v[\d.]+/);
    expect(run.stdout).not.toMatch(/FAIL/);
    expect(run.code).toBe(0);
  });
});
