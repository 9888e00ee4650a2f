/**
 * Shape inference for our layer specs, in float64 arithmetic, before anything reaches Wasm:
 * each layer's output shape and weight shapes (Keras's, which are the core's), and the
 * checks that keep a model within what a wasm32 module can index — no dimension past
 * 2^31 - 1, no parameter count past what its memory can hold — so a model file or a call
 * that asks for more is refused here, with nothing allocated, instead of wrapping around
 * on its way into 32-bit Wasm.
 */
import { OutOfMemoryError, ShapeError } from './errors.js';
import { assertShape } from './tensor.js';
import type { LayerSpec, Padding } from './layers.js';

const LAYER_NAMES: Record<LayerSpec['kind'], string> = {
  dense: 'Dense',
  conv2d: 'Conv2D',
  maxPooling2d: 'MaxPooling2D',
  upSampling2d: 'UpSampling2D',
};

/** The largest size of one dimension, or of one sample, that 32-bit Wasm indexes safely. */
export const MAX_DIMENSION = 2 ** 31 - 1;

/**
 * Each layer's per-sample output shape, as Keras and the Wasm core compute it. Throws a
 * ShapeError naming the layer when one cannot take its input.
 */
export function layerOutputShapes(inputShape: readonly number[], specs: readonly LayerSpec[]): number[][] {
  const shapes: number[][] = [];
  let shape = inputShape.slice();
  specs.forEach((s, i) => {
    const who = `layer ${i} (${LAYER_NAMES[s.kind]})`;
    if (s.kind === 'dense') {
      if (shape.length !== 1) {
        throw new ShapeError(
          `${who} gets an input of shape [${shape.join(', ')}]; Dense needs a flat [features] input: flatten images to ` +
            `[N, ${shape.reduce((a, b) => a * b, 1)}] first (Flatten/Reshape layers are not supported yet)`,
        );
      }
      shape = [s.units];
    } else {
      if (shape.length !== 3)
        throw new ShapeError(`${who} needs an image input [height, width, channels], got [${shape.join(', ')}]`);
      const [h, w, c] = shape;
      const axis = (n: number, win: number, stride: number, pad: Padding): number => {
        if (pad === 'same') return Math.ceil(n / stride);
        if (win > n)
          throw new ShapeError(`${who}: its ${win}-wide window does not fit the ${n}-wide input with 'valid' padding`);
        return Math.floor((n - win) / stride) + 1;
      };
      if (s.kind === 'conv2d')
        shape = [axis(h, s.kernelSize[0], 1, s.padding), axis(w, s.kernelSize[1], 1, s.padding), s.filters];
      else if (s.kind === 'maxPooling2d')
        shape = [axis(h, s.pool[0], s.strides[0], s.padding), axis(w, s.pool[1], s.strides[1], s.padding), c];
      else shape = [h * s.size[0], w * s.size[1], c];
    }
    shapes.push(shape);
  });
  return shapes;
}

/**
 * A layer's weights as Keras stores them, in Keras order: `kernel` `[in, out]` (Dense) or
 * `[kh, kw, in, out]` (Conv2D), then `bias` `[out]` — the layouts of our getWeights().
 * `inputShape` is the layer's per-sample input shape.
 */
export function layerWeightShapes(
  spec: LayerSpec,
  inputShape: readonly number[],
): { name: 'kernel' | 'bias'; shape: number[] }[] {
  if (spec.kind === 'dense') {
    return [
      { name: 'kernel', shape: [inputShape[0], spec.units] },
      { name: 'bias', shape: [spec.units] },
    ];
  }
  if (spec.kind === 'conv2d') {
    return [
      {
        name: 'kernel',
        shape: [spec.kernelSize[0], spec.kernelSize[1], inputShape[inputShape.length - 1], spec.filters],
      },
      { name: 'bias', shape: [spec.filters] },
    ];
  }
  return [];
}

/**
 * The model's parameter count, after checking that every input and output dimension and
 * every sample fits 32-bit indexing and that the parameters (with gradients and Adam's two
 * moments, 16 bytes each) fit a wasm32 memory. Throws ShapeError / OutOfMemoryError.
 */
export function plannedParamCount(inputShape: readonly number[], specs: readonly LayerSpec[]): number {
  assertShape('inputShape', inputShape);
  specs.forEach((s, i) => {
    // Units, filters, kernel, pool and upsampling sizes travel to Wasm as u32.
    const sizes = Object.values(s)
      .flatMap((v) => (Array.isArray(v) ? v : [v]))
      .filter((v) => typeof v === 'number');
    if (sizes.some((v) => v > MAX_DIMENSION)) {
      throw new ShapeError(
        `layer ${i} (${LAYER_NAMES[s.kind]}) has a size above ${MAX_DIMENSION}: ${JSON.stringify(s)}`,
      );
    }
  });
  const shapes = [inputShape.slice(), ...layerOutputShapes(inputShape, specs)];
  shapes.forEach((shape, i) => {
    const where = i === 0 ? 'the input' : `layer ${i - 1} (${LAYER_NAMES[specs[i - 1].kind]})'s output`;
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => d > MAX_DIMENSION) || size > MAX_DIMENSION) {
      throw new ShapeError(
        `${where} has shape [${shape.join(', ')}]: more than ${MAX_DIMENSION} values per sample, the most 32-bit WebAssembly indexes`,
      );
    }
  });
  let params = 0;
  specs.forEach((s, i) => {
    for (const w of layerWeightShapes(s, shapes[i])) params += w.shape.reduce((a, b) => a * b, 1);
  });
  if (params * 16 > 2 ** 32) {
    throw new OutOfMemoryError(
      `the model has ${params} parameters: with their gradients and Adam's moments (16 bytes each) ` +
        `that is more than the 4 GiB a WebAssembly module can address`,
    );
  }
  return params;
}
