/** `compile()` options, validated and resolved to Keras defaults. */
import { assertFiniteNumber, assertOneOf, checkOptions, isPlainObject } from './validate.js';

export type OptimizerName = 'adam' | 'sgd';
export type LossName = 'mse' | 'binaryCrossentropy';

export interface OptimizerConfig {
  name: OptimizerName;
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface CompileOptions {
  optimizer?: OptimizerName | OptimizerConfig;
  loss?: LossName;
}

/** Every field filled in; what a saved model records. */
export interface ResolvedCompile {
  optimizer: Required<OptimizerConfig>;
  loss: LossName;
}

/** Keras defaults: Adam(1e-3, 0.9, 0.999, 1e-7); SGD(0.01). */
const DEFAULTS: Record<OptimizerName, Required<OptimizerConfig>> = {
  adam: {
    name: 'adam',
    learningRate: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
  },
  sgd: {
    name: 'sgd',
    learningRate: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
  },
};

export function resolveCompile(opts: unknown): ResolvedCompile {
  const o = checkOptions<CompileOptions>('compile options', opts, ['optimizer', 'loss']);
  const loss =
    o.loss === undefined ? 'mse' : assertOneOf('compile loss', o.loss, ['mse', 'binaryCrossentropy'] as const);
  const raw = o.optimizer ?? 'adam';
  if (!isPlainObject(raw)) {
    const name = assertOneOf('compile optimizer', raw, ['adam', 'sgd'] as const);
    return { optimizer: { ...DEFAULTS[name] }, loss };
  }
  const c = checkOptions<OptimizerConfig>('compile optimizer', raw, [
    'name',
    'learningRate',
    'beta1',
    'beta2',
    'epsilon',
  ]);
  const name = assertOneOf('compile optimizer.name', c.name, ['adam', 'sgd'] as const);
  const d = DEFAULTS[name];
  const pick = (key: 'beta1' | 'beta2', v: unknown) =>
    v === undefined
      ? d[key]
      : assertFiniteNumber(`optimizer.${key}`, v, {
          min: 0,
          max: 1,
          maxExclusive: true,
        });
  return {
    optimizer: {
      name,
      learningRate:
        c.learningRate === undefined
          ? d.learningRate
          : assertFiniteNumber('optimizer.learningRate', c.learningRate, {
              min: 0,
              minExclusive: true,
            }),
      beta1: pick('beta1', c.beta1),
      beta2: pick('beta2', c.beta2),
      epsilon:
        c.epsilon === undefined
          ? d.epsilon
          : assertFiniteNumber('optimizer.epsilon', c.epsilon, {
              min: 0,
              minExclusive: true,
            }),
    },
    loss,
  };
}

/** The codes crate/wasm/src/codes.rs decodes. */
export const optimizerCode = (name: OptimizerName): number => (name === 'adam' ? 0 : 1);
export const lossCode = (loss: LossName): number => (loss === 'mse' ? 0 : 1);
