// The built package as users get it: ESM and CommonJS entry points, types, the .wasm, and
// nothing else in `npm pack`. Runs after `npm run build` (scripts/test.sh builds first).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

/** The packed tarball (what `npm install` downloads), from `npm pack --dry-run`. */
function packed(): { size: number; unpackedSize: number; files: { path: string }[] } {
  return JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: new URL('.', root),
      encoding: 'utf8',
    }),
  )[0];
}

describe('the built package', () => {
  it('stays within the size budget: the packed tarball ≤ 8 MB with every shipped model', () => {
    const { size, unpackedSize } = packed();
    expect(size).toBeLessThanOrEqual(8 * 1000 * 1000);
    expect(unpackedSize).toBeGreaterThan(size);
  });

  it('loads as ESM and as CommonJS and trains', async () => {
    const esm = await import(new URL('dist/index.js', root).href);
    await esm.init();
    expect(esm.vanilla({ seed: 1 }).countParams()).toBe(101_200);

    const script = `
      const ae = require('./dist/index.cjs');
      ae.init().then(() => {
        const m = ae.convolutional({ seed: 1 });
        const x = ae.tensor(new Float32Array(2 * 784).fill(0.5), [2, 28, 28, 1]);
        return m.fit(x, x, { batchSize: 2 }).then((h) => console.log(JSON.stringify([m.countParams(), h.loss.length])));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: new URL('.', root),
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual([7009, 1]);
    expect(createRequire(import.meta.url).resolve('../dist/index.cjs')).toMatch(/index\.cjs$/);
  });

  it('npm pack holds the bundles, types and .wasm, and no sources', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: new URL('.', root),
        encoding: 'utf8',
      }),
    ) as [{ files: { path: string }[] }];
    const files = pack.files.map((f) => f.path);
    for (const needed of [
      'dist/index.js',
      'dist/index.cjs',
      'dist/index.d.ts',
      'dist/wasm_autoencoders_bg.wasm',
      'dist/browser/index.js',
      'dist/browser/wasm_autoencoders_bg.wasm',
      'package.json',
      'README.md',
    ]) {
      expect(files).toContain(needed);
    }
    expect(files.filter((f) => /^(crate|ts|test|scripts|pkg)\//.test(f))).toEqual([]);
    // The pretrained models ship once (dist/browser/models/, read by both builds).
    for (const name of ['vanilla', 'deep', 'convolutional', 'denoising']) {
      expect(files).toContain(`dist/browser/models/${name}.wae`);
    }
    expect(files.filter((f) => f.endsWith('.wae') && !f.startsWith('dist/browser/models/'))).toEqual([]);
  });
});
