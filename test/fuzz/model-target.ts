/**
 * Fuzz target: the model file, through Autoencoder.fromBytes (ts/format.ts on
 * ts/container.ts, then the architecture built in Wasm).
 */
import fc from 'fast-check';
import { Autoencoder, init, layers, sequential, vanilla, convolutional, tensor } from '../../ts/index.js';
import { writeContainer } from '../../ts/container.js';
import { decodeModelFile, type WeightDtype } from '../../ts/format.js';
import { wasmF32View } from '../../ts/wasm.js';
import {
  check,
  concat,
  EXTREME_U32,
  fixCrc,
  FuzzFailure,
  jsonMutationArb,
  mutate,
  mutateJson,
  mutationsArb,
  outcome,
  seededBytes,
  showMutations,
  type Json,
  type Outcome,
} from './mutate.js';
import type { ArbitraryOptions, FuzzTarget } from './target.js';

export interface ValidModel {
  name: string;
  bytes: Uint8Array;
  dtype: WeightDtype;
  header: Record<string, unknown>;
  weights: Float32Array;
}

export interface ModelContext {
  valid: ValidModel[];
}

export interface ModelCase {
  kind: 'valid' | 'mutated' | 'mutated-crc' | 'header' | 'container' | 'random' | 'huge';
  bytes: Uint8Array;
  /** For 'valid': the file it came from (toBytes must give it back). */
  valid?: ValidModel;
  note: string;
}

/**
 * What a model file may make us allocate: its weights as float32 (1× the file for float32
 * weights, 2× for float16) and, in Wasm, parameters, gradients and Adam's two moments (16
 * bytes a weight: 4× or 8× the file): 10× the file, plus a fixed 2 MiB for the model's
 * bookkeeping and Wasm's page-sized growth. Checked here at 16×.
 */
export const MODEL_ALLOCATION_FACTOR = 16;
const FIXED_ALLOWANCE = 2 * 2 ** 20;

/** Wasm memory in bytes (it only grows). */
export function wasmMemoryBytes(): number {
  return wasmF32View(0, 0).buffer.byteLength;
}

/**
 * Parameters of every model that fromBytes builds, recorded by wrapping Autoencoder.create
 * (what fromBytes calls): building a model allocates its parameters in Wasm, so a file
 * that makes us build more than it holds broke the allocation bound, whether or not it is
 * refused afterwards.
 */
const built: number[] = [];
let wrapped = false;
function recordBuilds(): void {
  if (wrapped) return;
  wrapped = true;
  const create = Autoencoder.create.bind(Autoencoder);
  Autoencoder.create = (specs, opts) => {
    const model = create(specs, opts);
    built.push(model.countParams());
    return model;
  };
}

export function modelFile(header: Json, count: number, payload: Uint8Array, version: number): Uint8Array {
  return writeContainer('WAAE', version, header as Record<string, unknown>, 4 + payload.length, (view, at) => {
    view.setUint32(at, count >>> 0, true);
    new Uint8Array(view.buffer, at + 4, payload.length).set(payload);
  });
}

export async function modelSetup(): Promise<ModelContext> {
  await init({ threads: 1 });
  recordBuilds();
  const models: [string, Autoencoder][] = [
    ['vanilla(2)', vanilla({ encodingSize: 2, seed: 1 })],
    [
      'dense 5-3-5',
      sequential([layers.dense(3, { activation: 'tanh' }), layers.dense(5, { activation: 'sigmoid' })], {
        inputShape: [5],
        encoderLength: 1,
        seed: 2,
      }),
    ],
    [
      'conv 8×8',
      sequential(
        [
          layers.conv2d(2, 3, { padding: 'same', activation: 'relu' }),
          layers.maxPooling2d(2),
          layers.conv2d(1, [3, 2], { padding: 'valid' }),
          layers.upSampling2d([2, 3]),
          layers.conv2d(1, 3, { padding: 'same', activation: 'sigmoid' }),
        ],
        { inputShape: [8, 8, 1], encoderLength: 3, seed: 3 },
      ),
    ],
    ['convolutional', convolutional({ seed: 1 })],
  ];
  models[1][1].compile({ optimizer: { name: 'sgd', learningRate: 0.1 }, loss: 'binaryCrossentropy' });
  const valid: ValidModel[] = [];
  for (const [name, model] of models) {
    for (const dtype of ['float32', 'float16'] as const) {
      const bytes = model.toBytes({ weightDtype: dtype });
      const { header, weights } = decodeModelFile(bytes);
      valid.push({ name: `${name} ${dtype}`, bytes, dtype, header, weights });
    }
    model.dispose();
  }
  return { valid };
}

/** Parameters the architecture in `header` has, or undefined when it is not one. */
function paramsOf(header: Json): number | undefined {
  const h = header as Record<string, unknown>;
  try {
    const m = Autoencoder.create(h.layers as never, {
      inputShape: h.inputShape as number[],
      encoderLength: h.encoderLength as number,
      seed: 0,
    });
    const n = m.countParams();
    m.dispose();
    return n;
  } catch {
    return undefined;
  }
}

/** Enormous architectures, each in a file of a few hundred bytes (see modelTarget). */
const HUGE: [string, Json][] = [
  ['dense 65536 → 65536 (2^32 weights: wraps to 0 in Wasm)', { inputShape: [65536], units: 65536 }],
  ['dense 2^20 → 2^20 (2^40 weights)', { inputShape: [2 ** 20], units: 2 ** 20 }],
  ['dense 5000 → 5000 (25 M weights, 400 MB in Wasm)', { inputShape: [5000], units: 5000 }],
  ['dense 784 → 10^6 (784 M weights)', { inputShape: [784], units: 1e6 }],
  ['dense 1e9 → 1e9', { inputShape: [1e9], units: 1e9 }],
  ['conv on 65536 × 65536 images (2^32 values a sample)', { inputShape: [65536, 65536, 1], conv: true }],
  ['conv on 10^9 × 10^9 images', { inputShape: [1e9, 1e9, 1], conv: true }],
  ['conv with 10^6 filters', { inputShape: [8, 8, 1], filters: 1e6, conv: true }],
];

function hugeHeader(spec: Record<string, Json>): Json {
  const compile = { optimizer: 'adam', loss: 'mse' };
  if (spec.conv) {
    return {
      inputShape: spec.inputShape,
      encoderLength: 1,
      layers: [
        { kind: 'conv2d', filters: spec.filters ?? 1, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
        { kind: 'conv2d', filters: 1, kernelSize: [3, 3], padding: 'same', activation: 'sigmoid' },
      ],
      compile,
    };
  }
  return {
    inputShape: spec.inputShape,
    encoderLength: 1,
    layers: [
      { kind: 'dense', units: spec.units, activation: 'relu' },
      { kind: 'dense', units: 1, activation: 'sigmoid' },
    ],
    compile,
  };
}

export function hugeModelFiles(): { name: string; bytes: Uint8Array }[] {
  return HUGE.map(([name, spec]) => ({
    name,
    bytes: modelFile(hugeHeader(spec as Record<string, Json>), 16, seededBytes(1, 64), 1),
  }));
}

export function modelArbitrary(ctx: ModelContext, _options: ArbitraryOptions = {}): fc.Arbitrary<ModelCase> {
  const pick = fc.nat({ max: ctx.valid.length - 1 }).map((i) => ctx.valid[i]);

  const valid = pick.map((v): ModelCase => ({ kind: 'valid', bytes: v.bytes, valid: v, note: v.name }));

  const mutated = fc.record({ v: pick, muts: mutationsArb(96) }).map(({ v, muts }): ModelCase => ({
    kind: 'mutated',
    bytes: mutate(v.bytes, muts),
    note: `${v.name}: ${showMutations(muts)}`,
  }));

  const mutatedCrc = fc.record({ v: pick, muts: mutationsArb(96) }).map(({ v, muts }): ModelCase => ({
    kind: 'mutated-crc',
    bytes: fixCrc(mutate(v.bytes, muts)),
    note: `${v.name}: ${showMutations(muts)}, CRC recomputed`,
  }));

  const header = fc
    .record({
      v: pick,
      muts: fc.array(jsonMutationArb(false), { minLength: 1, maxLength: 3 }),
      payload: fc.constantFrom('keep', 'fit', 'fit', 'random'),
      version: fc.oneof({ weight: 5, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constantFrom(1, 2) }),
      count: fc.nat({ max: 300 }),
      seed: fc.integer(),
    })
    .map(({ v, muts, payload, version, count, seed }): ModelCase => {
      const h = mutateJson({ ...v.header, ...(v.dtype === 'float16' ? { weightDtype: 'float16' } : {}) } as Json, muts);
      const ver = version >= 0 ? version : v.dtype === 'float16' ? 2 : 1;
      const perWeight = ver === 2 && (h as Record<string, unknown>)?.weightDtype === 'float16' ? 2 : 4;
      let n = payload === 'keep' ? v.weights.length : payload === 'fit' ? (paramsOf(h) ?? count) : count;
      if (n > 2e6) n = count; // a mutation that built a big model: keep the case small
      const bytes = modelFile(h, n, seededBytes(seed, Math.ceil((n * perWeight) / 4) * 4), ver);
      return { kind: 'header', bytes, note: `${v.name}: header ${JSON.stringify(h).slice(0, 300)}; ${n} weights` };
    });

  const container = fc
    .record({
      v: pick,
      field: fc.constantFrom('version', 'headerLength', 'weightCount'),
      value: fc.oneof(fc.constantFrom(...EXTREME_U32), fc.nat({ max: 0xffffffff })),
    })
    .map(({ v, field, value }): ModelCase => {
      const bytes = v.bytes.slice();
      const view = new DataView(bytes.buffer);
      const at =
        field === 'version' ? 4 : field === 'headerLength' ? 8 : Math.ceil((12 + view.getUint32(8, true)) / 4) * 4;
      view.setUint32(at, value, true);
      return { kind: 'container', bytes: fixCrc(bytes), note: `${v.name}: ${field} = ${value}, CRC recomputed` };
    });

  const random = fc
    .record({
      magic: fc.boolean(),
      version: fc.constantFrom(1, 2, 3, 0xffffffff),
      headerLength: fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(...EXTREME_U32)),
      body: fc.uint8Array({ maxLength: 400 }),
      crc: fc.boolean(),
    })
    .map(({ magic, version, headerLength, body, crc }): ModelCase => {
      const head = new Uint8Array(12);
      const view = new DataView(head.buffer);
      head.set([0x57, 0x41, 0x41, 0x45]); // WAAE
      view.setUint32(4, version, true);
      view.setUint32(8, headerLength, true);
      const bytes = magic ? concat(head, body, new Uint8Array(4)) : body;
      return {
        kind: 'random',
        bytes: crc ? fixCrc(bytes) : bytes,
        note: `${magic ? `WAAE v${version} headerLength ${headerLength} + ` : ''}${body.length} random bytes${crc ? ', CRC recomputed' : ''}`,
      };
    });

  const files = hugeModelFiles();
  const huge = fc
    .record({ i: fc.nat({ max: files.length - 1 }), v: pick, muts: fc.array(jsonMutationArb(true)) })
    .map(({ i, v, muts }): ModelCase => {
      // Half: one of the enormous architectures above; half: enormous numbers put anywhere in a valid header.
      if (muts.length === 0) return { kind: 'huge', bytes: files[i].bytes, note: files[i].name };
      const h = mutateJson(v.header as Json, muts);
      return {
        kind: 'huge',
        bytes: modelFile(h, 16, seededBytes(i, 64), 1),
        note: `${v.name}: header ${JSON.stringify(h).slice(0, 300)}`,
      };
    });
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 4, arbitrary: mutated },
    { weight: 6, arbitrary: mutatedCrc },
    { weight: 8, arbitrary: header },
    { weight: 2, arbitrary: container },
    { weight: 2, arbitrary: random },
    { weight: 1, arbitrary: huge },
  );
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkLoaded(model: Autoencoder, c: ModelCase): void {
  const { weights } = decodeModelFile(c.bytes);
  check(
    model.countParams() === weights.length,
    `loaded ${model.countParams()} parameters from ${weights.length} weights`,
  );
  for (const [name, shape] of [
    ['input', model.inputShape],
    ['output', model.outputShape],
    ['code', model.codeShape],
  ] as const) {
    // Wasm32 addresses 4 GiB: a model whose single sample does not fit there cannot run.
    check(size(shape) * 4 < 2 ** 32, `loaded a model whose ${name} shape [${shape}] cannot fit in Wasm memory`);
  }
  if (c.valid) {
    const again = model.toBytes({ weightDtype: c.valid.dtype });
    check(
      again.length === c.bytes.length && again.every((b, i) => b === c.bytes[i]),
      `${c.valid.name}: toBytes() after fromBytes() differs from the file`,
    );
  }
  if (size(model.inputShape) <= 65536 && model.countParams() <= 2e6) {
    let y;
    try {
      y = model.predict(tensor(new Float32Array(size(model.inputShape)), [1, ...model.inputShape]));
    } catch (e) {
      const message = `the loaded model fails to predict one sample: ${(e as Error)?.message ?? String(e)}`;
      throw new FuzzFailure(message);
    }
    check(y.shape.join() === [1, ...model.outputShape].join(), `predict gave shape [${y.shape}]`);
  }
}

/**
 * Besides the answer, what building the file's architecture cost: the fuzzing found that
 * fromBytes built it in Wasm before comparing its parameter count with the file's weight
 * count, and that sizes past 32 bits wrapped around on their way into Wasm (a 280-byte file
 * claiming 25 M weights made us allocate 400 MB first; a Dense 65536 → 65536 layer counted 0
 * weights, loaded, then trapped in predict; inputShape [2^32 + 784] became [784]). Fixed by
 * ts/shapes.ts (commit e5e52f4): these checks keep it fixed.
 */
export const modelTarget: FuzzTarget<ModelContext, ModelCase> = {
  name: 'model',
  title: 'model files (Autoencoder.fromBytes)',
  setup: modelSetup,
  arbitrary: modelArbitrary,
  async run(_ctx, c) {
    const memory = wasmMemoryBytes();
    built.length = 0;
    let model: Autoencoder | undefined;
    let refusal = '';
    let result: Outcome;
    try {
      result = await outcome(
        () => (model = Autoencoder.fromBytes(c.bytes)),
        (m) => checkLoaded(m, c),
        c.kind === 'valid' ? 'ok' : undefined,
        (e) => {
          refusal = e.message;
        },
      );
    } finally {
      model?.dispose();
    }
    // Typed, but only because fromBytes wraps whatever building the model threw.
    if (/\bunreachable\b/.test(refusal)) {
      throw new FuzzFailure(`Wasm trapped building the file's architecture: ${refusal}`);
    }
    const bound = MODEL_ALLOCATION_FACTOR * c.bytes.length + FIXED_ALLOWANCE;
    const grown = wasmMemoryBytes() - memory;
    if (grown > bound) {
      throw new FuzzFailure(`a ${c.bytes.length}-byte file grew Wasm memory by ${(grown / 2 ** 20).toFixed(1)} MiB`);
    }
    const params = Math.max(0, ...built);
    if (params * 16 > bound) {
      throw new FuzzFailure(
        `a ${c.bytes.length}-byte file made us build a model of ${params} parameters (${((params * 16) / 2 ** 20).toFixed(1)} MiB in Wasm) before ${result === 'ok' ? 'loading' : 'refusing'} it`,
      );
    }
    return result;
  },
  show(c) {
    return `${c.kind} (${c.bytes.length} bytes): ${c.note}`;
  },
};
