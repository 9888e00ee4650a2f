/**
 * What the fuzz targets share: byte mutations of valid files, JSON mutations of a file's
 * header, a cheap seeded byte filler, and the check that decides what a parser's answer was
 * ('ok', 'typed' error, or a bug).
 */
import fc from 'fast-check';
import { crc32 } from '../../ts/checksum.js';
import { AutoencoderError } from '../../ts/errors.js';

// ---------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------

/** 'ok': the input loaded (and, where the answer is known, loaded right); 'typed': refused with an AutoencoderError. */
export type Outcome = 'ok' | 'typed';

/** A bug the fuzzing found: an untyped error escaped, a wrong result, a refusal that came too late. */
export class FuzzFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FuzzFailure';
  }
}

/** `what` failed unless `ok`. */
export function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new FuzzFailure(what);
}

/**
 * Runs a parser: 'typed' when it throws an AutoencoderError (and `expect` allows it; then
 * `refused` may look at it), otherwise `verify` checks what it returned. Any other error is a
 * FuzzFailure.
 */
export async function outcome<T>(
  run: () => T | Promise<T>,
  verify: (value: T) => void | Promise<void>,
  expect?: Outcome,
  refused?: (e: AutoencoderError) => void,
): Promise<Outcome> {
  let value: T;
  try {
    value = await run();
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    if (!(e instanceof AutoencoderError)) {
      const name = (e as Error)?.constructor?.name ?? typeof e;
      throw new FuzzFailure(`untyped ${name}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    if (e.message.length === 0) throw new FuzzFailure(`${e.name} with an empty message`);
    if (expect === 'ok') throw new FuzzFailure(`a valid input was refused: ${e.name}: ${e.message}`);
    refused?.(e);
    return 'typed';
  }
  if (expect === 'typed') throw new FuzzFailure('an input that must be refused loaded');
  await verify(value);
  return 'ok';
}

// ---------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------

/** `length` bytes from a seed (xorshift32): bulk content without asking fast-check for every byte. */
export function seededBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed | 0) ^ 0x9e3779b9 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sets the trailing CRC-32 to that of the bytes before it, so the parsing goes past the checksum. */
export function fixCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) return bytes;
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out, 0, out.length - 4), true);
  return out;
}

/** Values a u32 size field is set to: the edges, powers of two, "huge". */
export const EXTREME_U32 = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  255,
  256,
  65535,
  65536,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
  1e9,
  2 ** 24,
] as const;

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32'; at: number; value: number; littleEndian: boolean }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number };

/**
 * One mutation. Half the positions fall in the first `head` bytes, where the headers (and
 * so the sizes) are; the rest anywhere (taken modulo the length when applied).
 */
export function mutationArb(head = 64): fc.Arbitrary<Mutation> {
  const at = fc.oneof(fc.nat({ max: head }), fc.nat());
  const u32 = fc.oneof(fc.constantFrom(...EXTREME_U32), fc.nat({ max: 0xffffffff }));
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at, value: fc.nat({ max: 255 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('u32' as const), at, value: u32, littleEndian: fc.boolean() }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('extend' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        at,
        bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    },
  );
}

export const mutationsArb = (head = 64) => fc.array(mutationArb(head), { minLength: 1, maxLength: 4 });

/** A mutated copy of `bytes`. */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = bytes.slice();
  for (const m of mutations) {
    const pos = (at: number) => (b.length === 0 ? 0 : at % b.length);
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[pos(m.at)] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length > 0) b[pos(m.at)] = m.value;
        break;
      case 'u32': {
        if (b.length < 4) break;
        const at = m.at % (b.length - 3);
        new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, m.value, m.littleEndian);
        break;
      }
      case 'truncate':
        b = b.slice(0, m.at % (b.length + 1));
        break;
      case 'extend':
        b = concat(b, m.bytes);
        break;
      case 'insert': {
        const at = m.at % (b.length + 1);
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      }
      case 'delete': {
        const at = pos(m.at);
        b = concat(b.subarray(0, at), b.subarray(at + m.length));
        break;
      }
      case 'duplicate': {
        const at = pos(m.at);
        b = concat(b.subarray(0, at + m.length), b.subarray(at));
        break;
      }
    }
  }
  return b;
}

export function showMutations(mutations: readonly Mutation[]): string {
  return mutations
    .map((m) => {
      switch (m.op) {
        case 'flip':
          return `flip@${m.at}.${m.bit}`;
        case 'set':
          return `set@${m.at}=${m.value}`;
        case 'u32':
          return `u32${m.littleEndian ? 'le' : 'be'}@${m.at}=${m.value}`;
        case 'truncate':
          return `truncate@${m.at}`;
        case 'extend':
          return `extend+${m.bytes.length}`;
        case 'insert':
          return `insert@${m.at}+${m.bytes.length}`;
        case 'delete':
          return `delete@${m.at}-${m.length}`;
        case 'duplicate':
          return `duplicate@${m.at}x${m.length}`;
      }
    })
    .join(', ');
}

// ---------------------------------------------------------------------------
// JSON headers
// ---------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Values a header field is set to. `huge` adds integers that are valid but enormous
 * (2^16 … 2^40): sizes a parser must refuse before it allocates them.
 */
export function jsonValueArb(huge: boolean): fc.Arbitrary<Json> {
  const small = fc.oneof(
    fc.integer({ min: -2, max: 40 }),
    fc.constantFrom(0, -0, 0.5, 1.5, -1, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_SAFE_INTEGER),
  );
  const enormous = fc.constantFrom(65536, 1e6, 2 ** 20, 1e9, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40);
  const leaf: fc.Arbitrary<Json> = fc.oneof(
    { weight: 5, arbitrary: huge ? fc.oneof(small, enormous) : small },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '',
        'dense',
        'conv2d',
        'maxPooling2d',
        'upSampling2d',
        'relu',
        'sigmoid',
        'same',
        'valid',
        'adam',
        'sgd',
        'mse',
        'float16',
        'float32',
        '__proto__',
        '../x',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), leaf, { maxKeys: 3 }) },
  );
}

export type JsonMutation =
  | { op: 'replace'; path: number; value: Json }
  | { op: 'delete'; path: number }
  | { op: 'add'; path: number; key: string; value: Json }
  | { op: 'duplicate'; path: number };

export function jsonMutationArb(huge: boolean): fc.Arbitrary<JsonMutation> {
  const path = fc.nat();
  const value = jsonValueArb(huge);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('replace' as const), path, value }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), path }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('add' as const),
        path,
        key: fc.constantFrom('units', 'kind', 'extra', '__proto__', 'weightDtype', 'count', 'names'),
        value,
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), path }) },
  );
}

/** Every place in `root` (objects' values, arrays' elements), in a fixed order. */
function places(root: Json): { parent: Json[] | Record<string, Json>; key: string | number }[] {
  const out: { parent: Json[] | Record<string, Json>; key: string | number }[] = [];
  const walk = (v: Json) => {
    if (Array.isArray(v)) {
      v.forEach((c, i) => {
        out.push({ parent: v, key: i });
        walk(c);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push({ parent: v, key: k });
        walk(v[k]);
      }
    }
  };
  walk(root);
  return out;
}

/**
 * Sets an own property, as JSON.parse makes them: a plain assignment to "__proto__" would
 * change the object's prototype instead.
 */
function setOwn(target: object, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A mutated deep copy of a header: the `path`-th place (modulo their count) changed. */
export function mutateJson<T extends Json>(header: T, mutations: readonly JsonMutation[]): Json {
  const root = JSON.parse(JSON.stringify(header)) as Json;
  for (const m of mutations) {
    const all = places(root);
    if (all.length === 0) break;
    const { parent, key } = all[m.path % all.length];
    const target = parent as Record<string | number, Json>;
    switch (m.op) {
      case 'replace':
        setOwn(target, key, m.value);
        break;
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete target[key];
        break;
      case 'add': {
        const v = target[key];
        if (Array.isArray(v)) v.push(m.value);
        else if (v !== null && typeof v === 'object') setOwn(v, m.key, m.value);
        else if (!Array.isArray(parent)) setOwn(target, m.key, m.value);
        break;
      }
      case 'duplicate':
        if (Array.isArray(parent)) parent.splice(key as number, 0, JSON.parse(JSON.stringify(parent[key as number])));
        break;
    }
  }
  return root;
}

/** Runs `fn`, returning its outcome and the time it took in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}
