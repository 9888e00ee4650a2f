/**
 * Fuzz target: the CLI's code file (`encode` writes it, `decode` reads it), through
 * decodeCodeFile.
 */
import fc from 'fast-check';
import { decodeCodeFile, encodeCodeFile, type CodeFile } from '../../ts/cli/code-file.js';
import { writeContainer } from '../../ts/container.js';
import {
  check,
  concat,
  EXTREME_U32,
  fixCrc,
  jsonMutationArb,
  mutate,
  mutateJson,
  mutationsArb,
  outcome,
  seededBytes,
  showMutations,
  type Json,
} from './mutate.js';
import type { ArbitraryOptions, FuzzTarget } from './target.js';

export interface CodeFileCase {
  kind: 'valid' | 'mutated' | 'mutated-crc' | 'header' | 'container' | 'random' | 'huge';
  bytes: Uint8Array;
  /** For 'valid': what it must decode to. */
  expected?: CodeFile;
  note: string;
}

const nameArb = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._ -]{0,15}$/)
  .filter((n) => n !== '.' && n !== '..' && n.trim() === n);

const codeFileArb = fc
  .record({
    model: fc.nat({ max: 0xffffffff }).map((n) => n.toString(16).padStart(8, '0')),
    codeShape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
    names: fc.array(nameArb, { maxLength: 5 }),
    seed: fc.integer(),
  })
  .map(({ model, codeShape, names, seed }): CodeFile => {
    const n = names.length * codeShape.reduce((a, b) => a * b, 1);
    // Any bit patterns: NaN, infinities, subnormals, -0 (encode writes what the model gave).
    const codes = new Float32Array(seededBytes(seed, 4 * n).buffer);
    return { model, codeShape, names, codes };
  });

/** Headers that claim what no code file can hold, over a payload of a few bytes. */
const HUGE: [string, Json][] = [
  ['codeShape [10^9, 10^9]', { codeShape: [1e9, 1e9] }],
  ['codeShape [65536, 65536] (2^32 floats)', { codeShape: [65536, 65536] }],
  ['codeShape [2^53]', { codeShape: [2 ** 53] }],
  ['codeShape [1e308, 1e308]', { codeShape: [1e308, 1e308] }],
  ['count 2^32', { count: 2 ** 32 }],
];

export function codeFileArbitrary(_ctx: unknown, _options: ArbitraryOptions = {}): fc.Arbitrary<CodeFileCase> {
  const valid = codeFileArb.map((f): CodeFileCase => ({
    kind: 'valid',
    bytes: encodeCodeFile(f),
    expected: f,
    note: `${f.names.length} codes of [${f.codeShape}]`,
  }));
  const mutated = fc
    .record({ f: codeFileArb, muts: mutationsArb(96), crc: fc.boolean() })
    .map(({ f, muts, crc }): CodeFileCase => {
      const bytes = mutate(encodeCodeFile(f), muts);
      return {
        kind: crc ? 'mutated-crc' : 'mutated',
        bytes: crc ? fixCrc(bytes) : bytes,
        note: `${showMutations(muts)}${crc ? ', CRC recomputed' : ''}`,
      };
    });
  const header = fc
    .record({
      f: codeFileArb,
      muts: fc.array(jsonMutationArb(true), { minLength: 1, maxLength: 3 }),
      names: fc.option(
        fc.array(fc.constantFrom('../x.png', '/etc/x', 'a/b.png', '..', '.', '', 'a\\b', 'x\u0000.png', 'ok.png', 7), {
          minLength: 1,
          maxLength: 3,
        }),
      ),
      fit: fc.boolean(),
      seed: fc.integer(),
    })
    .map(({ f, muts, names, fit, seed }): CodeFileCase => {
      const base: Json = { model: f.model, codeShape: f.codeShape, count: f.names.length, names: f.names };
      const h = mutateJson(base, muts) as Record<string, Json>;
      if (names && h !== null && typeof h === 'object') {
        h.names = names;
        h.count = names.length;
      }
      // 'fit': as many payload bytes as the (mutated) header asks for, when that is small.
      let floats = f.codes.length;
      const dims = h.codeShape;
      if (fit && Array.isArray(dims) && dims.every((d) => typeof d === 'number') && typeof h.count === 'number') {
        const want = h.count * (dims as number[]).reduce((a, b) => a * b, 1);
        if (Number.isSafeInteger(want) && want >= 0 && want <= 10000) floats = want;
      }
      const bytes = writeContainer('WAEC', 1, h, 4 * floats, (view, at) => {
        new Uint8Array(view.buffer, at, 4 * floats).set(seededBytes(seed, 4 * floats));
      });
      return { kind: 'header', bytes, note: `header ${JSON.stringify(h).slice(0, 300)}; ${floats} floats` };
    });
  const container = fc
    .record({
      f: codeFileArb,
      field: fc.constantFrom('version', 'headerLength'),
      value: fc.oneof(fc.constantFrom(...EXTREME_U32), fc.nat({ max: 0xffffffff })),
    })
    .map(({ f, field, value }): CodeFileCase => {
      const bytes = encodeCodeFile(f);
      new DataView(bytes.buffer).setUint32(field === 'version' ? 4 : 8, value, true);
      return { kind: 'container', bytes: fixCrc(bytes), note: `${field} = ${value}, CRC recomputed` };
    });
  const random = fc
    .record({ magic: fc.boolean(), body: fc.uint8Array({ maxLength: 300 }), crc: fc.boolean() })
    .map(({ magic, body, crc }): CodeFileCase => {
      const head = new Uint8Array([0x57, 0x41, 0x45, 0x43, 1, 0, 0, 0]); // WAEC, version 1
      const bytes = magic ? concat(head, body) : body;
      return {
        kind: 'random',
        bytes: crc ? fixCrc(bytes) : bytes,
        note: `${magic ? 'WAEC v1 + ' : ''}${body.length} random bytes`,
      };
    });
  const huge = fc.record({ i: fc.nat({ max: HUGE.length - 1 }), f: codeFileArb }).map(({ i, f }): CodeFileCase => {
    const h = { model: f.model, codeShape: [1], count: 1, names: ['a.png'], ...(HUGE[i][1] as object) };
    return {
      kind: 'huge',
      bytes: writeContainer('WAEC', 1, h, 16, () => {}),
      note: HUGE[i][0],
    };
  });
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 6, arbitrary: mutated },
    { weight: 8, arbitrary: header },
    { weight: 2, arbitrary: container },
    { weight: 2, arbitrary: random },
    { weight: 1, arbitrary: huge },
  );
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** A name `decode` may write in its output directory. */
function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export const codeFileTarget: FuzzTarget<unknown, CodeFileCase> = {
  name: 'code-file',
  title: "the CLI's code files (decodeCodeFile)",
  async setup() {
    return undefined;
  },
  arbitrary: codeFileArbitrary,
  async run(_ctx, c) {
    return outcome(
      () => decodeCodeFile(c.bytes, 'codes.waec'),
      (f) => {
        check(/^[0-9a-f]{8}$/.test(f.model), `model id ${JSON.stringify(f.model)}`);
        check(
          f.codeShape.length > 0 && f.codeShape.every((d) => Number.isSafeInteger(d) && d > 0),
          `codeShape [${f.codeShape}]`,
        );
        check(
          f.names.every((n) => typeof n === 'string' && safeName(n)),
          `a name decode would write outside its directory: ${JSON.stringify(f.names)}`,
        );
        const per = f.codeShape.reduce((a, b) => a * b, 1);
        check(f.codes.length === f.names.length * per, `${f.codes.length} floats for ${f.names.length} × ${per}`);
        if (c.expected) {
          const e = c.expected;
          check(f.model === e.model, 'the model id changed');
          check(f.codeShape.join() === e.codeShape.join(), 'the code shape changed');
          check(JSON.stringify(f.names) === JSON.stringify(e.names), 'the names changed');
          check(sameFloats(f.codes, e.codes), 'the codes changed');
        }
      },
      c.kind === 'valid' ? 'ok' : c.kind === 'huge' ? 'typed' : undefined,
    );
  },
  show(c) {
    return `${c.kind} (${c.bytes.length} bytes): ${c.note}`;
  },
};
