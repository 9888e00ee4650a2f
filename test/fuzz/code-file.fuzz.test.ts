// Hostile code files (issue 13, point 1): the CLI's `decode` input, random, mutated (with its
// CRC-32 recomputed, so the header and payload are reached) and claiming huge sizes, decodes
// right or throws CorruptDataError, each within a time bound.
import { describe, expect, it } from 'vitest';
import { decodeCodeFile, encodeCodeFile } from '../../ts/cli/code-file.js';
import { writeContainer } from '../../ts/container.js';
import { CorruptDataError } from '../../ts/errors.js';
import { codeFileTarget } from './code-file-target.js';
import { fuzzProperty } from './run.js';

describe('code files never crash or hang', () => {
  it('3,000 cases: each decodes right or throws CorruptDataError, within 2 s', async () => {
    const stats = await fuzzProperty(codeFileTarget, undefined, { numRuns: 3000, timeLimitMs: 2000 });
    expect(stats.ok).toBeGreaterThan(300);
    expect(stats.typed).toBeGreaterThan(1500);
  });

  const file = (header: Record<string, unknown>, payload = 16) => writeContainer('WAEC', 1, header, payload, () => {});
  const base = { model: '0123abcd', codeShape: [4], count: 1, names: ['a.png'] };

  it('refuses names that `decode` would write outside its output directory', () => {
    for (const name of ['../../x.png', '/etc/x.png', 'a/b.png', 'a\\b.png', '..', '.', '', 'x\u0000.png']) {
      expect(() => decodeCodeFile(file({ ...base, names: [name] }), 'c.waec'), name).toThrow(
        /^c\.waec is not a code file: name 0 is /,
      );
    }
    expect(decodeCodeFile(file(base), 'c.waec').names).toEqual(['a.png']);
  });

  it('refuses headers claiming huge sizes before allocating, naming the size', () => {
    const t0 = performance.now();
    expect(() => decodeCodeFile(file({ ...base, codeShape: [1e9, 1e9] }), 'c.waec')).toThrow(
      'c.waec is not a code file: 1 codes of shape [1000000000, 1000000000] need 4000000000000000000 bytes, it has 16',
    );
    expect(() => decodeCodeFile(file({ ...base, codeShape: [2 ** 53] }), 'c.waec')).toThrow(
      /codeShape is \[9007199254740992\]/,
    );
    expect(() => decodeCodeFile(file({ ...base, count: 2 ** 32 }), 'c.waec')).toThrow(
      'c.waec is not a code file: its count is 4294967296, but it has 1 names',
    );
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('says which header field is wrong', () => {
    expect(() => decodeCodeFile(file({ ...base, model: 'x' }), 'c.waec')).toThrow(
      'c.waec is not a code file: its model id is "x" (string), expected 8 hexadecimal digits',
    );
    expect(() => decodeCodeFile(file({ ...base, codeShape: [] }), 'c.waec')).toThrow(CorruptDataError);
    const valid = encodeCodeFile({ model: '0123abcd', codeShape: [2], names: ['a.png'], codes: new Float32Array(2) });
    expect(decodeCodeFile(valid, 'c.waec').codes).toEqual(new Float32Array(2));
  });
});
