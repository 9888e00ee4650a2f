/**
 * An independent, deliberately naive float64 reference implementation of the
 * layers, loss, backpropagation and Adam optimizer, used by tests to check the
 * WebAssembly model.  It shares no code with the SDK.
 *
 * Conventions (Keras):
 * - Tensors are flat Float64Arrays, row-major; images NHWC.
 * - Dense kernel [in, out] (W[i*out + o]) then bias [out]; Dense applies to
 *   the last axis (leading axes are treated as rows).
 * - Conv2D kernel [kh, kw, cin, cout] (K[((ky*kw + kx)*cin + ci)*cout + co])
 *   then bias [cout]; stride 1; 'valid' → out = in − k + 1; 'same' → out = in,
 *   padding total k − 1 with floor((k − 1)/2) before (top/left) and the rest
 *   after (so an even kernel pads more at the bottom/right).
 * - MaxPooling2D stride = pool size; 'valid' → out = floor((in − p)/p) + 1;
 *   'same' → out = ceil(in/p), padding total max((out − 1)·p + p − in, 0) with
 *   floor(total/2) before; padded cells are ignored (never the max).
 *   Backward routes the gradient to the first maximal cell in row-major
 *   window order (ties are non-differentiable).
 * - UpSampling2D: nearest neighbour (each value repeated sh × sw times).
 * - ReLU'(0) = 0.
 * - Loss: MSE, mean over all elements of the batch.
 * - Adam (Keras 3): t is the 1-based step;
 *   m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
 *   p −= lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m/(√v + ε).
 */

export type Activation = 'relu' | 'sigmoid' | 'tanh' | 'linear';
export type Padding = 'same' | 'valid';

export type LayerSpec =
  | { kind: 'dense'; units: number; activation?: Activation }
  | { kind: 'conv2d'; filters: number; kernelSize: [number, number]; padding?: Padding; activation?: Activation }
  | { kind: 'maxPooling2d'; pool: [number, number]; padding?: Padding }
  | { kind: 'upSampling2d'; size: [number, number] }
  | { kind: 'flatten' }
  | { kind: 'reshape'; targetShape: number[] };

export interface AdamConfig {
  lr?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

// ---------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------

export function activate(z: Float64Array, act: Activation): Float64Array {
  const y = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) y[i] = activateScalar(z[i], act);
  return y;
}

export function activateScalar(z: number, act: Activation): number {
  switch (act) {
    case 'relu':
      return z > 0 ? z : 0;
    case 'sigmoid':
      return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    case 'tanh':
      return Math.tanh(z);
    case 'linear':
      return z;
    default:
      throw new Error(`unknown activation ${String(act)}`);
  }
}

/** dL/dz given dL/dy, the pre-activation z and the activation output y. */
export function activationBackward(dy: Float64Array, z: Float64Array, y: Float64Array, act: Activation): Float64Array {
  const dz = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) {
    switch (act) {
      case 'relu':
        dz[i] = z[i] > 0 ? dy[i] : 0;
        break;
      case 'sigmoid':
        dz[i] = dy[i] * y[i] * (1 - y[i]);
        break;
      case 'tanh':
        dz[i] = dy[i] * (1 - y[i] * y[i]);
        break;
      case 'linear':
        dz[i] = dy[i];
        break;
      default:
        throw new Error(`unknown activation ${String(act)}`);
    }
  }
  return dz;
}

export const relu = (z: Float64Array) => activate(z, 'relu');
export const sigmoid = (z: Float64Array) => activate(z, 'sigmoid');
export const tanh = (z: Float64Array) => activate(z, 'tanh');
export const linear = (z: Float64Array) => activate(z, 'linear');

// ---------------------------------------------------------------------------
// Loss
// ---------------------------------------------------------------------------

/** Mean over all elements of (pred − target)². */
export function mseLoss(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  if (pred.length !== target.length) throw new Error(`mseLoss: lengths differ (${pred.length} vs ${target.length})`);
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i] - target[i];
    s += d * d;
  }
  return s / pred.length;
}

/** d mseLoss / d pred = 2(pred − target)/count. */
export function mseLossGrad(pred: ArrayLike<number>, target: ArrayLike<number>): Float64Array {
  const g = new Float64Array(pred.length);
  for (let i = 0; i < pred.length; i++) g[i] = (2 * (pred[i] - target[i])) / pred.length;
  return g;
}

// ---------------------------------------------------------------------------
// Output sizes
// ---------------------------------------------------------------------------

/** Output size and padding before, for a stride-1 convolution along one axis. */
export function convOut(size: number, k: number, padding: Padding): { out: number; before: number } {
  if (padding === 'same') return { out: size, before: Math.floor((k - 1) / 2) };
  if (size < k) throw new Error(`conv 'valid': input ${size} smaller than kernel ${k}`);
  return { out: size - k + 1, before: 0 };
}

/** Output size and padding before, for pooling with stride = pool along one axis. */
export function poolOut(size: number, p: number, padding: Padding): { out: number; before: number } {
  if (padding === 'same') {
    const out = Math.ceil(size / p);
    const total = Math.max((out - 1) * p + p - size, 0);
    return { out, before: Math.floor(total / 2) };
  }
  if (size < p) throw new Error(`pool 'valid': input ${size} smaller than pool ${p}`);
  return { out: Math.floor((size - p) / p) + 1, before: 0 };
}

// ---------------------------------------------------------------------------
// Layers: forward
// ---------------------------------------------------------------------------

/** y[r, o] = b[o] + Σ_i x[r, i]·W[i, o] for r < n. W is [in, out] row-major. */
export function dense(
  x: ArrayLike<number>,
  n: number,
  inDim: number,
  W: ArrayLike<number>,
  b: ArrayLike<number>,
  outDim: number,
): Float64Array {
  if (x.length !== n * inDim) throw new Error(`dense: x has ${x.length} values, expected ${n}*${inDim}`);
  if (W.length !== inDim * outDim || b.length !== outDim) throw new Error('dense: bad weight sizes');
  const y = new Float64Array(n * outDim);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * W[i * outDim + o];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

/** Stride-1 2-D convolution (cross-correlation, as in Keras), NHWC. Output [n, oh, ow, cout]. */
export function conv2d(
  x: ArrayLike<number>,
  n: number,
  h: number,
  w: number,
  cin: number,
  K: ArrayLike<number>,
  b: ArrayLike<number>,
  kh: number,
  kw: number,
  cout: number,
  padding: Padding,
): Float64Array {
  if (x.length !== n * h * w * cin) throw new Error('conv2d: bad input size');
  if (K.length !== kh * kw * cin * cout || b.length !== cout) throw new Error('conv2d: bad weight sizes');
  const { out: oh, before: pt } = convOut(h, kh, padding);
  const { out: ow, before: pl } = convOut(w, kw, padding);
  const y = new Float64Array(n * oh * ow * cout);
  for (let s = 0; s < n; s++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let co = 0; co < cout; co++) {
          let acc = b[co];
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy + ky - pt;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox + kx - pl;
              if (ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                acc += x[((s * h + iy) * w + ix) * cin + ci] * K[((ky * kw + kx) * cin + ci) * cout + co];
              }
            }
          }
          y[((s * oh + oy) * ow + ox) * cout + co] = acc;
        }
      }
    }
  }
  return y;
}

function maxPoolWithArgmax(
  x: ArrayLike<number>,
  n: number,
  h: number,
  w: number,
  c: number,
  pool: [number, number],
  padding: Padding,
): { y: Float64Array; argmax: Int32Array; oh: number; ow: number } {
  if (x.length !== n * h * w * c) throw new Error('maxPool2d: bad input size');
  const [ph, pw] = pool;
  const { out: oh, before: pt } = poolOut(h, ph, padding);
  const { out: ow, before: pl } = poolOut(w, pw, padding);
  const y = new Float64Array(n * oh * ow * c);
  const argmax = new Int32Array(n * oh * ow * c);
  for (let s = 0; s < n; s++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let bestIdx = -1;
          for (let dy = 0; dy < ph; dy++) {
            const iy = oy * ph + dy - pt;
            if (iy < 0 || iy >= h) continue;
            for (let dx = 0; dx < pw; dx++) {
              const ix = ox * pw + dx - pl;
              if (ix < 0 || ix >= w) continue;
              const idx = ((s * h + iy) * w + ix) * c + ch;
              if (bestIdx < 0 || x[idx] > best) {
                best = x[idx];
                bestIdx = idx;
              }
            }
          }
          const o = ((s * oh + oy) * ow + ox) * c + ch;
          y[o] = best;
          argmax[o] = bestIdx;
        }
      }
    }
  }
  return { y, argmax, oh, ow };
}

/** Max pooling with stride = pool size, NHWC. Output [n, oh, ow, c]. */
export function maxPool2d(
  x: ArrayLike<number>,
  n: number,
  h: number,
  w: number,
  c: number,
  pool: number | [number, number],
  padding: Padding,
): Float64Array {
  const p: [number, number] = typeof pool === 'number' ? [pool, pool] : pool;
  return maxPoolWithArgmax(x, n, h, w, c, p, padding).y;
}

/** Nearest-neighbour upsampling, NHWC. Output [n, h·sh, w·sw, c]. */
export function upSampling2d(
  x: ArrayLike<number>,
  n: number,
  h: number,
  w: number,
  c: number,
  size: number | [number, number],
): Float64Array {
  if (x.length !== n * h * w * c) throw new Error('upSampling2d: bad input size');
  const [sh, sw] = typeof size === 'number' ? [size, size] : size;
  const oh = h * sh;
  const ow = w * sw;
  const y = new Float64Array(n * oh * ow * c);
  for (let s = 0; s < n; s++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          y[((s * oh + oy) * ow + ox) * c + ch] = x[((s * h + Math.floor(oy / sh)) * w + Math.floor(ox / sw)) * c + ch];
        }
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------------------
// Layers: backward
// ---------------------------------------------------------------------------

function denseBackward(
  x: Float64Array,
  rows: number,
  inDim: number,
  W: Float64Array,
  outDim: number,
  dz: Float64Array,
): { dx: Float64Array; dW: Float64Array; db: Float64Array } {
  const dx = new Float64Array(rows * inDim);
  const dW = new Float64Array(inDim * outDim);
  const db = new Float64Array(outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      const g = dz[r * outDim + o];
      db[o] += g;
      for (let i = 0; i < inDim; i++) {
        dW[i * outDim + o] += x[r * inDim + i] * g;
        dx[r * inDim + i] += W[i * outDim + o] * g;
      }
    }
  }
  return { dx, dW, db };
}

function conv2dBackward(
  x: Float64Array,
  n: number,
  h: number,
  w: number,
  cin: number,
  K: Float64Array,
  kh: number,
  kw: number,
  cout: number,
  padding: Padding,
  dz: Float64Array,
): { dx: Float64Array; dK: Float64Array; db: Float64Array } {
  const { out: oh, before: pt } = convOut(h, kh, padding);
  const { out: ow, before: pl } = convOut(w, kw, padding);
  const dx = new Float64Array(x.length);
  const dK = new Float64Array(K.length);
  const db = new Float64Array(cout);
  for (let s = 0; s < n; s++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let co = 0; co < cout; co++) {
          const g = dz[((s * oh + oy) * ow + ox) * cout + co];
          db[co] += g;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy + ky - pt;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox + kx - pl;
              if (ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                const xi = ((s * h + iy) * w + ix) * cin + ci;
                const ki = ((ky * kw + kx) * cin + ci) * cout + co;
                dK[ki] += x[xi] * g;
                dx[xi] += K[ki] * g;
              }
            }
          }
        }
      }
    }
  }
  return { dx, dK, db };
}

// ---------------------------------------------------------------------------
// Deterministic initialisation (independent tiny PRNG: mulberry32)
// ---------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [lo, hi) from a seeded mulberry32 (for test inputs). */
export function randomArray(length: number, seed: number, lo = 0, hi = 1): Float64Array {
  const r = mulberry32(seed);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

interface ResolvedLayer {
  spec: LayerSpec;
  inShape: number[];
  outShape: number[];
  /** Indices into the parameter list (kernel, bias) or -1. */
  kernel: number;
  bias: number;
}

interface LayerCache {
  input: Float64Array;
  z?: Float64Array;
  y: Float64Array;
  argmax?: Int32Array;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export class ReferenceModel {
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly layers: ResolvedLayer[];
  /** Live parameters (kernel, bias per parametric layer), Keras order. */
  readonly params: Float64Array[];
  private m: Float64Array[];
  private v: Float64Array[];

  /**
   * @param inputShape per-sample shape, e.g. [784] or [28, 28, 1]
   * @param specs layer list
   * @param weights Keras-order weights (copied); when omitted, Glorot-uniform
   *   kernels (seeded by `seed`) and zero biases, as Keras initialises them.
   */
  constructor(inputShape: number[], specs: LayerSpec[], weights?: ArrayLike<number>[], seed = 1) {
    this.inputShape = inputShape.slice();
    this.layers = [];
    const shapes: number[][] = [];
    let shape = inputShape.slice();
    let paramCount = 0;
    for (const spec of specs) {
      const inShape = shape;
      let outShape: number[];
      let kernel = -1;
      let bias = -1;
      switch (spec.kind) {
        case 'dense': {
          outShape = [...inShape.slice(0, -1), spec.units];
          kernel = paramCount++;
          bias = paramCount++;
          shapes.push([inShape[inShape.length - 1], spec.units], [spec.units]);
          break;
        }
        case 'conv2d': {
          if (inShape.length !== 3) throw new Error(`conv2d needs [h, w, c] input, got [${inShape}]`);
          const [h, w, c] = inShape;
          const [kh, kw] = spec.kernelSize;
          const pad = spec.padding ?? 'valid';
          outShape = [convOut(h, kh, pad).out, convOut(w, kw, pad).out, spec.filters];
          kernel = paramCount++;
          bias = paramCount++;
          shapes.push([kh, kw, c, spec.filters], [spec.filters]);
          break;
        }
        case 'maxPooling2d': {
          if (inShape.length !== 3) throw new Error(`maxPooling2d needs [h, w, c] input, got [${inShape}]`);
          const [h, w, c] = inShape;
          const pad = spec.padding ?? 'valid';
          outShape = [poolOut(h, spec.pool[0], pad).out, poolOut(w, spec.pool[1], pad).out, c];
          break;
        }
        case 'upSampling2d': {
          if (inShape.length !== 3) throw new Error(`upSampling2d needs [h, w, c] input, got [${inShape}]`);
          const [h, w, c] = inShape;
          outShape = [h * spec.size[0], w * spec.size[1], c];
          break;
        }
        case 'flatten':
          outShape = [prod(inShape)];
          break;
        case 'reshape':
          if (prod(spec.targetShape) !== prod(inShape)) throw new Error('reshape: size mismatch');
          outShape = spec.targetShape.slice();
          break;
        default:
          throw new Error(`unknown layer kind ${(spec as { kind: string }).kind}`);
      }
      this.layers.push({ spec, inShape, outShape, kernel, bias });
      shape = outShape;
    }
    this.outputShape = shape;

    if (weights !== undefined) {
      if (weights.length !== shapes.length) {
        throw new Error(`expected ${shapes.length} weight arrays, got ${weights.length}`);
      }
      this.params = weights.map((wt, i) => {
        if (wt.length !== prod(shapes[i])) {
          throw new Error(`weight ${i} has ${wt.length} values, expected ${prod(shapes[i])} ([${shapes[i]}])`);
        }
        return Float64Array.from(wt);
      });
    } else {
      const rnd = mulberry32(seed);
      this.params = shapes.map((s) => {
        const out = new Float64Array(prod(s));
        if (s.length === 1) return out; // bias: zeros
        const receptive = prod(s.slice(0, -2));
        const fanIn = receptive * s[s.length - 2];
        const fanOut = receptive * s[s.length - 1];
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < out.length; i++) out[i] = (2 * rnd() - 1) * limit;
        return out;
      });
    }
    this.m = this.params.map((p) => new Float64Array(p.length));
    this.v = this.params.map((p) => new Float64Array(p.length));
  }

  /** Shapes of the parameter arrays, Keras order. */
  get weightShapes(): number[][] {
    const out: number[][] = [];
    for (const l of this.layers) {
      if (l.kernel < 0) continue;
      if (l.spec.kind === 'dense') out.push([l.inShape[l.inShape.length - 1], l.spec.units], [l.spec.units]);
      else if (l.spec.kind === 'conv2d')
        out.push([...l.spec.kernelSize, l.inShape[2], l.spec.filters], [l.spec.filters]);
    }
    return out;
  }

  /** Copies of the current parameters. */
  getWeights(): Float64Array[] {
    return this.params.map((p) => p.slice());
  }

  private forwardCached(x: ArrayLike<number>, n: number): LayerCache[] {
    if (x.length !== n * prod(this.inputShape)) {
      throw new Error(`input has ${x.length} values, expected ${n} × ${prod(this.inputShape)}`);
    }
    const caches: LayerCache[] = [];
    let cur: Float64Array = Float64Array.from(x);
    for (const l of this.layers) {
      const { spec, inShape } = l;
      const input = cur;
      switch (spec.kind) {
        case 'dense': {
          const inDim = inShape[inShape.length - 1];
          const rows = (n * prod(inShape)) / inDim;
          const z = dense(input, rows, inDim, this.params[l.kernel], this.params[l.bias], spec.units);
          const y = activate(z, spec.activation ?? 'linear');
          caches.push({ input, z, y });
          cur = y;
          break;
        }
        case 'conv2d': {
          const [h, w, c] = inShape;
          const z = conv2d(
            input,
            n,
            h,
            w,
            c,
            this.params[l.kernel],
            this.params[l.bias],
            spec.kernelSize[0],
            spec.kernelSize[1],
            spec.filters,
            spec.padding ?? 'valid',
          );
          const y = activate(z, spec.activation ?? 'linear');
          caches.push({ input, z, y });
          cur = y;
          break;
        }
        case 'maxPooling2d': {
          const [h, w, c] = inShape;
          const { y, argmax } = maxPoolWithArgmax(input, n, h, w, c, spec.pool, spec.padding ?? 'valid');
          caches.push({ input, y, argmax });
          cur = y;
          break;
        }
        case 'upSampling2d': {
          const [h, w, c] = inShape;
          const y = upSampling2d(input, n, h, w, c, spec.size);
          caches.push({ input, y });
          cur = y;
          break;
        }
        case 'flatten':
        case 'reshape':
          caches.push({ input, y: input });
          break;
      }
    }
    return caches;
  }

  /** Output for a batch of n samples (flat, [n, ...outputShape]). */
  forward(x: ArrayLike<number>, n: number): Float64Array {
    const c = this.forwardCached(x, n);
    return c.length ? c[c.length - 1].y : Float64Array.from(x);
  }

  /** MSE loss of the batch. */
  loss(x: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
    return mseLoss(this.forward(x, n), y);
  }

  /** Loss, gradients of all parameters (Keras order) and the gradient w.r.t. the input. */
  gradients(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
    n: number,
  ): { loss: number; grads: Float64Array[]; inputGrad: Float64Array } {
    const caches = this.forwardCached(x, n);
    const out = caches.length ? caches[caches.length - 1].y : Float64Array.from(x);
    if (y.length !== out.length) throw new Error(`target has ${y.length} values, expected ${out.length}`);
    const loss = mseLoss(out, y);
    let g: Float64Array = mseLossGrad(out, y);
    const grads: Float64Array[] = this.params.map((p) => new Float64Array(p.length));
    for (let li = this.layers.length - 1; li >= 0; li--) {
      const l = this.layers[li];
      const c = caches[li];
      const { spec, inShape } = l;
      switch (spec.kind) {
        case 'dense': {
          const dz = activationBackward(g, c.z!, c.y, spec.activation ?? 'linear');
          const inDim = inShape[inShape.length - 1];
          const rows = (n * prod(inShape)) / inDim;
          const r = denseBackward(c.input, rows, inDim, this.params[l.kernel], spec.units, dz);
          grads[l.kernel] = r.dW;
          grads[l.bias] = r.db;
          g = r.dx;
          break;
        }
        case 'conv2d': {
          const dz = activationBackward(g, c.z!, c.y, spec.activation ?? 'linear');
          const [h, w, cin] = inShape;
          const r = conv2dBackward(
            c.input,
            n,
            h,
            w,
            cin,
            this.params[l.kernel],
            spec.kernelSize[0],
            spec.kernelSize[1],
            spec.filters,
            spec.padding ?? 'valid',
            dz,
          );
          grads[l.kernel] = r.dK;
          grads[l.bias] = r.db;
          g = r.dx;
          break;
        }
        case 'maxPooling2d': {
          const dx = new Float64Array(c.input.length);
          const am = c.argmax!;
          for (let o = 0; o < am.length; o++) dx[am[o]] += g[o];
          g = dx;
          break;
        }
        case 'upSampling2d': {
          const [h, w, ch] = inShape;
          const [sh, sw] = spec.size;
          const oh = h * sh;
          const ow = w * sw;
          const dx = new Float64Array(c.input.length);
          for (let s = 0; s < n; s++)
            for (let oy = 0; oy < oh; oy++)
              for (let ox = 0; ox < ow; ox++)
                for (let k = 0; k < ch; k++)
                  dx[((s * h + Math.floor(oy / sh)) * w + Math.floor(ox / sw)) * ch + k] +=
                    g[((s * oh + oy) * ow + ox) * ch + k];
          g = dx;
          break;
        }
        case 'flatten':
        case 'reshape':
          break;
      }
    }
    return { loss, grads, inputGrad: g };
  }

  /**
   * One training step: forward, MSE loss, backward, Keras 3 Adam update with
   * the 1-based step `t`.  Returns the loss before the update.
   */
  trainStep(x: ArrayLike<number>, y: ArrayLike<number>, n: number, adam: AdamConfig, t: number): number {
    const lr = adam.lr ?? 0.001;
    const beta1 = adam.beta1 ?? 0.9;
    const beta2 = adam.beta2 ?? 0.999;
    const epsilon = adam.epsilon ?? 1e-7;
    if (!(Number.isInteger(t) && t >= 1)) throw new Error(`t must be the 1-based step, got ${t}`);
    const { loss, grads } = this.gradients(x, y, n);
    const alpha = (lr * Math.sqrt(1 - Math.pow(beta2, t))) / (1 - Math.pow(beta1, t));
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < p.length; i++) {
        m[i] += (g[i] - m[i]) * (1 - beta1);
        v[i] += (g[i] * g[i] - v[i]) * (1 - beta2);
        p[i] -= (alpha * m[i]) / (Math.sqrt(v[i]) + epsilon);
      }
    }
    return loss;
  }
}
