/**
 * The Autoencoder: a Sequential model split into an encoder (the first `encoderLength`
 * layers) and a decoder (the rest), held in Wasm behind a handle. Every method validates
 * its input before touching the model, so a refused call leaves it as it was.
 */
import { resolveCompile, lossCode, optimizerCode, type CompileOptions, type ResolvedCompile } from './compile.js';
import {
  AutoencoderError,
  CorruptDataError,
  DisposedError,
  OutOfMemoryError,
  ShapeError,
  ValueError,
} from './errors.js';
import {
  assertBoolean,
  assertFiniteNumber,
  assertOneOf,
  assertPositiveInteger,
  checkOptions,
  describeValue,
  isPlainObject,
} from './validate.js';
import { planFit, runFit, type FitOptions, type History, type TrainTarget } from './fit.js';
import { planFitDataset, runFitDataset, type Dataset, type FitDatasetOptions } from './fit-dataset.js';
import { decodeModelFile, encodeModelFile, WEIGHT_DTYPES, type WeightDtype } from './format.js';
import { encodeLayers, normalizeLayerSpec, type LayerSpec } from './layers.js';
import { plannedParamCount } from './shapes.js';
import { defaultSeed } from './random.js';
import { assertSampleShape, assertTensor, shapeToString, shapeSize, type Tensor } from './tensor.js';
import { assertAnySamples, floatRows, type AnyTensor } from './byte-tensor.js';
import { requireWasm, wasmF32View, type ModelHandle } from './wasm.js';

export interface ToBytesOptions {
  /** How the weights are stored: 'float32' (default, bit for bit) or 'float16' (half the size, rounded). */
  weightDtype?: WeightDtype;
  /**
   * Also store the optimizer's state (Adam's moments and step count; default false), so a
   * loaded model continues training exactly where this one is: with `fit`'s `initialEpoch`
   * and the same seed, a resumed run equals the uninterrupted one bit for bit.
   */
  includeOptimizer?: boolean;
}

export interface SequentialOptions {
  /** Per-sample input shape, e.g. [784] or [28, 28, 1]. */
  inputShape: number[];
  /** How many of the layers form the encoder; the code is the output of the last of them. */
  encoderLength: number;
  /** Seed for the Glorot-uniform initial weights; random when omitted. */
  seed?: number;
}

/** Samples per forward pass in predict/evaluate: bounds Wasm memory, whatever N is. */
const INFERENCE_CHUNK = 256;
/**
 * Floats (inputs + outputs) one predict/evaluate call hands to Wasm at most: larger inputs
 * go in slices, so the module's memory stays bounded (16 MiB here, plus the activations of
 * one INFERENCE_CHUNK) however many samples are asked for.
 */
const FLOATS_PER_CALL = 4 * 2 ** 20;

/** Samples per Wasm call for rows of `perSample` floats in and out: whole chunks, at least one. */
function samplesPerCall(perSample: number): number {
  return Math.max(1, Math.floor(FLOATS_PER_CALL / perSample / INFERENCE_CHUNK)) * INFERENCE_CHUNK;
}

/**
 * The mean loss over `n` samples, evaluated in slices (see FLOATS_PER_CALL); each slice's
 * mean is weighted by its sample count.
 */
function evaluateSliced(handle: ModelHandle, x: AnyTensor, y: AnyTensor, n: number, loss: number): number {
  const inLen = x.data.length / n;
  const outLen = y.data.length / n;
  const step = samplesPerCall(inLen + outLen);
  let total = 0;
  for (let start = 0; start < n; start += step) {
    const count = Math.min(step, n - start);
    total +=
      handle.evaluate(floatRows(x, start, count), floatRows(y, start, count), count, INFERENCE_CHUNK, loss) * count;
  }
  return total / n;
}

/** Rust's errors arrive as `Error("[ShapeError] …")`; give them the SDK's types. */
function rethrow(e: unknown): never {
  if (e instanceof AutoencoderError) throw e;
  const message = e instanceof Error ? e.message : String(e);
  const tagged = /^\[(ShapeError|ValueError|OutOfMemoryError)\] (.*)$/s.exec(message);
  if (tagged) {
    const Class = { ShapeError, ValueError, OutOfMemoryError }[tagged[1] as 'ShapeError'];
    throw new Class(tagged[2]);
  }
  throw e;
}

interface LayerInfo {
  kind: string;
  outputShape: number[];
  paramShapes: number[][];
}

export class Autoencoder {
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly codeShape: number[];
  readonly encoderLength: number;
  readonly layers: readonly LayerSpec[];
  #handle: ModelHandle | undefined;
  #info: LayerInfo[];
  #compiled: ResolvedCompile;
  readonly #inputSize: number;
  readonly #outputSize: number;
  #fitting = false;
  #disposeAfterFit = false;

  /** Use `sequential()` or a preset; the constructor takes already-validated parts. */
  private constructor(handle: ModelHandle, specs: readonly LayerSpec[], inputShape: number[], encoderLength: number) {
    this.#handle = handle;
    this.layers = Object.freeze(specs.slice());
    this.inputShape = inputShape.slice();
    this.encoderLength = encoderLength;
    this.#info = specs.map((_, i) => {
      const flat = Array.from(handle.layerParamShapes(i));
      const paramShapes: number[][] = [];
      for (let p = 0; p < flat.length; p += flat[p] + 1) paramShapes.push(flat.slice(p + 1, p + 1 + flat[p]));
      return {
        kind: handle.layerKind(i),
        outputShape: Array.from(handle.layerOutputShape(i)),
        paramShapes,
      };
    });
    this.codeShape = this.#info[encoderLength - 1].outputShape.slice();
    this.outputShape = this.#info[specs.length - 1].outputShape.slice();
    this.#compiled = resolveCompile(undefined);
    this.#inputSize = shapeSize(this.inputShape);
    this.#outputSize = shapeSize(this.outputShape);
  }

  /** @internal Builds from validated specs. */
  static create(specs: readonly LayerSpec[], opts: unknown): Autoencoder {
    const Handle = requireWasm('building a model');
    if (!isPlainObject(opts))
      throw new ValueError(
        `sequential options must be { inputShape, encoderLength, seed? }, got ${describeValue(opts)}`,
      );
    const o = checkOptions<SequentialOptions>('sequential options', opts, ['inputShape', 'encoderLength', 'seed']);
    if (!Array.isArray(specs) || specs.length === 0)
      throw new ValueError(`sequential needs a non-empty array of layers, got ${describeValue(specs)}`);
    const normalized = specs.map((s, i) => normalizeLayerSpec(s, `layer ${i}`));
    if (!Array.isArray(o.inputShape) || o.inputShape.length === 0) {
      throw new ShapeError(
        `inputShape must be a non-empty array of positive integers, got ${describeValue(o.inputShape)}`,
      );
    }
    const inputShape = o.inputShape.map((d, i) => assertPositiveInteger(`inputShape[${i}]`, d));
    const encoderLength = assertPositiveInteger('encoderLength', o.encoderLength);
    if (encoderLength >= normalized.length) {
      throw new ValueError(
        `encoderLength must be between 1 and ${normalized.length - 1} (the decoder needs at least one of the ${normalized.length} layers), got ${encoderLength}`,
      );
    }
    const seed = o.seed === undefined ? defaultSeed() : o.seed;
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new ValueError(`seed must be a non-negative integer, got ${describeValue(seed)}`);
    // Shapes and sizes checked in float64 first: nothing past what 32-bit Wasm indexes or holds.
    plannedParamCount(inputShape, normalized);
    let handle: ModelHandle;
    try {
      handle = new Handle(Uint32Array.from(inputShape), encodeLayers(normalized), seed);
    } catch (e) {
      rethrow(e);
    }
    return new Autoencoder(handle, normalized, inputShape, encoderLength);
  }

  #live(what: string): ModelHandle {
    if (!this.#handle || this.#disposeAfterFit) throw new DisposedError(`${what}: this model was disposed`);
    return this.#handle;
  }

  #notFitting(what: string): void {
    if (this.#fitting)
      throw new ValueError(`${what} is not allowed while fit() is running; await it or stop it with an AbortSignal`);
  }

  /** Optimizer and loss, like Keras's compile (a fresh optimizer state). Presets come compiled. */
  compile(opts?: CompileOptions): void {
    const handle = this.#live('compile');
    this.#notFitting('compile');
    const c = resolveCompile(opts);
    const o = c.optimizer;
    try {
      handle.compile(optimizerCode(o.name), o.learningRate, o.beta1, o.beta2, o.epsilon, lossCode(c.loss));
    } catch (e) {
      rethrow(e);
    }
    this.#compiled = c;
  }

  /** The resolved compile settings (optimizer with every field, loss). */
  get compiled(): ResolvedCompile {
    return structuredClone(this.#compiled);
  }

  /** `x` and `y` may be ByteTensors (images as bytes, scaled batch by batch): see byteTensor(). */
  async fit(x: AnyTensor, y: AnyTensor, opts?: FitOptions): Promise<History> {
    const handle = this.#live('fit');
    this.#notFitting('fit');
    const plan = planFit(this.#trainTarget(handle), x, y, opts);
    this.#fitting = true;
    try {
      return await runFit(this.#trainTarget(handle), plan, () => this.#disposeAfterFit);
    } catch (e) {
      return rethrow(e);
    } finally {
      this.#fitting = false;
      if (this.#disposeAfterFit) this.#free();
    }
  }

  /**
   * Trains from batches that arrive one at a time (TensorFlow.js's `fitDataset`): an
   * iterable, sync or async, of `{ xs, ys? }`, iterated afresh each epoch, so the data need
   * never be in memory at once. Options as `fit`'s, without batchSize, shuffle and
   * validationSplit (the dataset decides those), plus `batchesPerEpoch`.
   */
  async fitDataset(dataset: Dataset, opts?: FitDatasetOptions): Promise<History> {
    const handle = this.#live('fitDataset');
    this.#notFitting('fitDataset');
    const plan = planFitDataset(this.#trainTarget(handle), dataset, opts);
    this.#fitting = true;
    try {
      return await runFitDataset(this.#trainTarget(handle), plan, () => this.#disposeAfterFit);
    } catch (e) {
      return rethrow(e);
    } finally {
      this.#fitting = false;
      if (this.#disposeAfterFit) this.#free();
    }
  }

  #trainTarget(handle: ModelHandle): TrainTarget {
    const loss = lossCode(this.#compiled.loss);
    return {
      inputShape: this.inputShape,
      outputShape: this.outputShape,
      stage: (n, targetIsInput) => {
        const xPtr = handle.stageInput(n);
        const yPtr = targetIsInput ? undefined : handle.stageTarget(n);
        // Views only after both calls: either may grow (and so detach) Wasm memory.
        const x = wasmF32View(xPtr, n * this.#inputSize);
        return {
          x,
          y: yPtr === undefined ? undefined : wasmF32View(yPtr, n * this.#outputSize),
        };
      },
      trainStaged: (n, targetIsInput) => handle.trainStaged(n, targetIsInput),
      // Straight to the handle: setWeights() itself is refused while fit() runs.
      callbackContext: (stopTraining) => ({
        stopTraining,
        getWeights: () => handle.weights(),
        setWeights: (w) => {
          if (!(w instanceof Float32Array)) {
            throw new ValueError(`setWeights takes the Float32Array of getWeights(), got ${describeValue(w)}`);
          }
          handle.setWeights(w);
        },
        toBytes: (o) => this.toBytes(o),
        getLearningRate: () => this.#compiled.optimizer.learningRate,
        setLearningRate: (learningRate) => {
          assertFiniteNumber('learning rate', learningRate, { min: 0 });
          handle.setLearningRate(learningRate);
          // Saved with the model, as Keras saves the optimizer's current rate.
          this.#compiled = { ...this.#compiled, optimizer: { ...this.#compiled.optimizer, learningRate } };
        },
      }),
      validationLoss: (vx, vy) => evaluateSliced(handle, vx, vy, vx.shape[0], loss),
    };
  }

  #run(
    what: string,
    x: AnyTensor,
    from: number,
    to: number,
    sampleShape: readonly number[],
    outShape: readonly number[],
  ): Tensor {
    const handle = this.#live(what);
    const n = assertAnySamples(`${what} input`, x, sampleShape);
    const inLen = shapeSize(sampleShape);
    const outLen = shapeSize(outShape);
    try {
      const step = samplesPerCall(inLen + outLen);
      if (n <= step) {
        return {
          shape: Object.freeze([n, ...outShape]),
          data: handle.predict(floatRows(x, 0, n), n, from, to, INFERENCE_CHUNK),
        };
      }
      const data = new Float32Array(n * outLen);
      for (let start = 0; start < n; start += step) {
        const count = Math.min(step, n - start);
        const part = handle.predict(floatRows(x, start, count), count, from, to, INFERENCE_CHUNK);
        data.set(part, start * outLen);
      }
      return { shape: Object.freeze([n, ...outShape]), data };
    } catch (e) {
      rethrow(e);
    }
  }

  /** Reconstructions: the whole model. */
  predict(x: AnyTensor): Tensor {
    return this.#run('predict', x, 0, this.layers.length, this.inputShape, this.outputShape);
  }

  /** The learned codes: the encoder's layers. */
  encode(x: AnyTensor): Tensor {
    return this.#run('encode', x, 0, this.encoderLength, this.inputShape, this.codeShape);
  }

  /** Reconstructions from codes: the decoder's layers. */
  decode(code: Tensor): Tensor {
    return this.#run('decode', code, this.encoderLength, this.layers.length, this.codeShape, this.outputShape);
  }

  /** Mean squared error of predict(x) against y, over all elements. */
  evaluate(x: AnyTensor, y: AnyTensor): number {
    const handle = this.#live('evaluate');
    const n = assertAnySamples('evaluate x', x, this.inputShape);
    const ny = assertAnySamples('evaluate y', y, this.outputShape);
    if (n !== ny) throw new ShapeError(`evaluate: x and y must hold the same number of samples, got ${n} and ${ny}`);
    try {
      return evaluateSliced(handle, x, y, n, lossCode('mse'));
    } catch (e) {
      rethrow(e);
    }
  }

  countParams(): number {
    return this.#live('countParams').paramCount();
  }

  /** Weight tensors in Keras order: per layer, kernel then bias. */
  getWeights(): Tensor[] {
    const flat = this.#live('getWeights').weights();
    const out: Tensor[] = [];
    let offset = 0;
    for (const info of this.#info) {
      for (const shape of info.paramShapes) {
        const size = shapeSize(shape);
        out.push({
          shape: Object.freeze(shape.slice()),
          data: flat.slice(offset, offset + size),
        });
        offset += size;
      }
    }
    return out;
  }

  /** Replaces every weight; count, shapes (Keras layouts) and values are checked first. */
  setWeights(weights: Tensor[]): void {
    const handle = this.#live('setWeights');
    this.#notFitting('setWeights');
    const shapes = this.#info.flatMap((info) => info.paramShapes);
    if (!Array.isArray(weights) || weights.length !== shapes.length) {
      throw new ValueError(
        `setWeights expects an array of ${shapes.length} tensors (kernel and bias per layer), got ${Array.isArray(weights) ? weights.length : describeValue(weights)}`,
      );
    }
    const flat = new Float32Array(shapes.reduce((a, s) => a + shapeSize(s), 0));
    let offset = 0;
    weights.forEach((w, i) => {
      assertTensor(`weights[${i}]`, w);
      const expected = shapes[i];
      if (w.shape.length !== expected.length || w.shape.some((d, j) => d !== expected[j])) {
        throw new ShapeError(`weights[${i}] must have shape ${shapeToString(expected)}, got ${shapeToString(w.shape)}`);
      }
      flat.set(w.data, offset);
      offset += w.data.length;
    });
    try {
      handle.setWeights(flat);
    } catch (e) {
      rethrow(e);
    }
  }

  /** A Keras-style table of layers, output shapes and parameter counts. */
  summary(): string {
    this.#live('summary');
    const rows = this.#info.map((info, i) => {
      const params = info.paramShapes.reduce((a, s) => a + shapeSize(s), 0);
      const part = i < this.encoderLength ? 'encoder' : 'decoder';
      return [`${info.kind} (${part})`, `(None, ${info.outputShape.join(', ')})`, String(params)];
    });
    const header = ['Layer (type)', 'Output Shape', 'Param #'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)) + 2);
    const line = (cells: string[]) =>
      cells
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('')
        .trimEnd();
    const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0));
    return [
      `Input: (None, ${this.inputShape.join(', ')})  Code: (None, ${this.codeShape.join(', ')})`,
      rule,
      line(header),
      rule,
      ...rows.map(line),
      rule,
      `Total params: ${this.countParams().toLocaleString('en-US')}`,
    ].join('\n');
  }

  /**
   * Architecture, compile settings and weights, versioned and checksummed. With
   * `{ weightDtype: 'float16' }` the weights are rounded to half precision: half the bytes
   * (the shipped pretrained models use it where the test MSE moved by less than 1 %). With
   * `{ includeOptimizer: true }` the optimizer's state comes along (a checkpoint).
   */
  toBytes(opts?: ToBytesOptions): Uint8Array {
    const o = checkOptions<ToBytesOptions>('toBytes options', opts, ['weightDtype', 'includeOptimizer']);
    const dtype = assertOneOf('toBytes weightDtype', o.weightDtype ?? 'float32', WEIGHT_DTYPES);
    const includeOptimizer =
      o.includeOptimizer === undefined ? false : assertBoolean('toBytes includeOptimizer', o.includeOptimizer);
    const handle = this.#live('toBytes');
    const header = {
      inputShape: this.inputShape,
      encoderLength: this.encoderLength,
      layers: this.layers,
      compile: this.#compiled,
    };
    const optimizer = includeOptimizer
      ? { iterations: handle.iterations(), slots: handle.optimizerSlots() }
      : undefined;
    return encodeModelFile(header, handle.weights(), dtype, optimizer);
  }

  static fromBytes(bytes: Uint8Array): Autoencoder {
    requireWasm('Autoencoder.fromBytes');
    const { header, weights, optimizer } = decodeModelFile(bytes);
    let model: Autoencoder;
    try {
      if (!Array.isArray(header.layers)) throw new ValueError('layers is missing');
      if (!Array.isArray(header.inputShape)) throw new ValueError('inputShape is missing');
      // Counted before the model is built: a small file claiming a huge architecture
      // must not make us allocate it.
      const planned = plannedParamCount(
        (header.inputShape as unknown[]).map((d, i) => assertPositiveInteger(`inputShape[${i}]`, d)),
        (header.layers as unknown[]).map((s, i) => normalizeLayerSpec(s as LayerSpec, `layer ${i}`)),
      );
      if (planned !== weights.length) {
        throw new CorruptDataError(
          `not a valid model file: it holds ${weights.length} weights, its architecture needs ${planned}`,
        );
      }
      model = Autoencoder.create(header.layers as LayerSpec[], {
        inputShape: header.inputShape as number[],
        encoderLength: header.encoderLength as number,
        seed: 0,
      });
    } catch (e) {
      if (e instanceof CorruptDataError) throw e;
      throw new CorruptDataError(`not a valid model file: its architecture is invalid (${(e as Error).message})`);
    }
    try {
      if (weights.length !== model.countParams()) {
        throw new CorruptDataError(
          `not a valid model file: it holds ${weights.length} weights, its architecture needs ${model.countParams()}`,
        );
      }
      model.#live('fromBytes').setWeights(weights);
      model.compile(header.compile as CompileOptions & ResolvedCompile);
      // After compile, which starts the optimizer afresh; refused when it does not fit the model.
      if (optimizer) model.#live('fromBytes').restoreOptimizer(optimizer.iterations, optimizer.slots);
    } catch (e) {
      model.dispose();
      if (e instanceof CorruptDataError) throw e;
      throw new CorruptDataError(`not a valid model file: ${(e as Error).message.replace(/^\[\w+\] /, '')}`);
    }
    return model;
  }

  /** Frees the Wasm memory. Idempotent; during fit() it takes effect after the current batch. */
  dispose(): void {
    if (!this.#handle) return;
    if (this.#fitting) {
      this.#disposeAfterFit = true;
      return;
    }
    this.#free();
  }

  #free(): void {
    this.#handle?.free();
    this.#handle = undefined;
  }

  get isDisposed(): boolean {
    return this.#handle === undefined || this.#disposeAfterFit;
  }
}
