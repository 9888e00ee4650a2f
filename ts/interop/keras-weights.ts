/**
 * Where a Keras 3 `model.weights.h5` keeps a layer's variables, and their shapes. They are
 * the datasets `layers/<key>/vars/0, 1, …` in the layer's own order (kernel, then bias),
 * where `<key>` is NOT the layer's name: Keras 3 names them by class, in the order of the
 * model's layers (`dense`, `dense_1`, `conv2d`, `max_pooling2d`, … — `_save_container_state`
 * in keras/src/saving/saving_lib.py, because layer names are auto-generated and vary between
 * runs), which is what kerasLayerNames() computes. Checked against files Keras 3.15 wrote.
 * Layers without variables (pooling, upsampling, the input) have no group.
 */
import { CorruptDataError, ShapeError, ValueError } from '../errors.js';
import { findNonFinite, shapeToString, type Tensor } from '../tensor.js';
import type { LayerSpec } from '../layers.js';
import type { Hdf5Dataset, Hdf5Group } from './hdf5-write.js';
import type { Hdf5File } from './hdf5-read.js';
import { kerasLayerNames, kerasWeightShapes, type KerasLayer } from './keras-config.js';

/** One variable a layer stores, and where. */
export interface WeightSlot {
  /** The layer's name in config.json, for messages. */
  readonly layer: string;
  /** Its variables' group in the HDF5 file. */
  readonly group: string;
  readonly role: 'kernel' | 'bias';
  /** Our getWeights() shape (Keras's layout). */
  readonly shape: number[];
  /** Its dataset, or undefined for the zero bias of a `use_bias: false` layer. */
  readonly path: string | undefined;
}

export function varsGroup(layerName: string): string {
  return `layers/${layerName}/vars`;
}

/** Every variable of the chain, in getWeights() order; `inputShapes[i]` is layer i's input shape. */
export function weightSlots(layers: readonly KerasLayer[], inputShapes: readonly number[][]): WeightSlot[] {
  const keys = kerasLayerNames(layers.map((l) => l.spec));
  return layers.flatMap((l, i) => {
    let index = 0;
    return kerasWeightShapes(l.spec, inputShapes[i]).map(({ name, shape }) => ({
      layer: l.name,
      role: name,
      shape,
      group: varsGroup(keys[i]),
      path: name === 'bias' && !l.useBias ? undefined : `${varsGroup(keys[i])}/${index++}`,
    }));
  });
}

/** Bytes of float32 weights the slots hold (stored ones only). */
export function storedWeightBytes(slots: readonly WeightSlot[]): number {
  return slots.reduce((n, s) => n + (s.path ? 4 * s.shape.reduce((a, b) => a * b, 1) : 0), 0);
}

/** Reads every slot from the file, checking each layer's group holds exactly its variables. */
export function readWeights(h5: Hdf5File, slots: readonly WeightSlot[]): Tensor[] {
  const expected = new Map<string, { layer: string; count: number }>();
  for (const s of slots) {
    if (!s.path) continue;
    const e = expected.get(s.group) ?? { layer: s.layer, count: 0 };
    e.count++;
    expected.set(s.group, e);
  }
  for (const [group, { layer, count }] of expected) {
    const keys = h5.groupKeys(group);
    if (!keys)
      throw new CorruptDataError(
        `model.weights.h5 has no weights for layer ${JSON.stringify(layer)} (no ${group} group)`,
      );
    const want = Array.from({ length: count }, (_, i) => String(i));
    if (keys.length !== count || !want.every((k) => keys.includes(k)))
      throw new CorruptDataError(
        `layer ${JSON.stringify(layer)} stores variables [${keys.join(', ')}] in model.weights.h5; its config needs exactly [${want.join(', ')}]`,
      );
  }
  return slots.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (!s.path) return { shape: Object.freeze(s.shape.slice()), data: new Float32Array(size) };
    const got = h5.readFloats(s.path);
    if (!got) throw new CorruptDataError(`model.weights.h5 has no dataset ${s.path}`);
    if (got.shape.length !== s.shape.length || got.shape.some((d, j) => d !== s.shape[j]))
      throw new ShapeError(
        `layer ${JSON.stringify(s.layer)}: its ${s.role} (${s.path}) has shape ${shapeToString(got.shape)}, its config needs ${shapeToString(s.shape)}`,
      );
    const bad = findNonFinite(got.data);
    if (bad >= 0)
      throw new ValueError(
        `layer ${JSON.stringify(s.layer)}: its ${s.role} holds ${got.data[bad]} at index ${bad}; weights must be finite`,
      );
    return { shape: Object.freeze(s.shape.slice()), data: got.data };
  });
}

/** The HDF5 tree Keras 3 writes for these weights (getWeights() order, every bias stored). */
export function weightsTree(specs: readonly LayerSpec[], weightsPerLayer: readonly Tensor[][]): Hdf5Group {
  const layers: Record<string, Hdf5Group> = {};
  kerasLayerNames(specs).forEach((name, i) => {
    const vars: Record<string, Hdf5Dataset> = {};
    weightsPerLayer[i].forEach((w, j) => {
      vars[String(j)] = { shape: w.shape, data: w.data };
    });
    if (weightsPerLayer[i].length > 0) layers[name] = { vars };
  });
  // Keras also writes the model's own (empty) `vars` group.
  return { layers, vars: {} };
}
