/**
 * A `.keras` file's `compile_config` <-> our compile settings. Only the optimizer and the
 * loss matter to us. What we cannot train with (another optimizer, a learning-rate
 * schedule, another loss) only shapes training, not what the model computes, so — as
 * keras-config.ts does with regularizers — it is dropped: the model comes back compiled
 * like the tutorial's (Adam 1e-3, MSE) and predicts exactly as in Keras.
 */
import type { CompileOptions, LossName, ResolvedCompile } from '../compile.js';
import { isPlainObject } from '../validate.js';

const LOSSES: Record<string, LossName> = {
  mse: 'mse',
  mean_squared_error: 'mse',
  MeanSquaredError: 'mse',
  binary_crossentropy: 'binaryCrossentropy',
  BinaryCrossentropy: 'binaryCrossentropy',
};

function finite(v: unknown, min: number, max: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > min && v < max ? v : undefined;
}

function kerasLoss(loss: unknown): LossName {
  if (typeof loss === 'string') return LOSSES[loss] ?? 'mse';
  if (isPlainObject(loss) && typeof loss.class_name === 'string') return LOSSES[loss.class_name] ?? 'mse';
  return 'mse';
}

/** Our compile options for a Keras `compile_config` (absent or unusable parts: Adam 1e-3, MSE). */
export function compileFromKeras(compileConfig: unknown): CompileOptions {
  if (!isPlainObject(compileConfig)) return { optimizer: 'adam', loss: 'mse' };
  const loss = kerasLoss(compileConfig.loss);
  const opt = compileConfig.optimizer;
  const name =
    typeof opt === 'string' ? opt.toLowerCase() : isPlainObject(opt) ? String(opt.class_name).toLowerCase() : '';
  const c = isPlainObject(opt) && isPlainObject(opt.config) ? opt.config : {};
  if (name !== 'adam' && name !== 'sgd') return { optimizer: 'adam', loss };
  // A momentum SGD, AMSGrad or weight decay trains differently from ours: keep the defaults.
  if ((name === 'sgd' && c.momentum) || c.amsgrad === true || c.weight_decay) return { optimizer: 'adam', loss };
  return {
    optimizer: {
      name,
      learningRate: finite(c.learning_rate, 0, Infinity),
      ...(name === 'adam'
        ? {
            beta1: finite(c.beta_1, -1e-300, 1),
            beta2: finite(c.beta_2, -1e-300, 1),
            epsilon: finite(c.epsilon, 0, Infinity),
          }
        : {}),
    },
    loss,
  };
}

/** Keras 3's `compile_config` for our settings, so `load_model` returns a model `fit` can train. */
export function kerasCompileConfig(c: ResolvedCompile): Record<string, unknown> {
  const o = c.optimizer;
  const optimizer =
    o.name === 'adam'
      ? {
          module: 'keras.optimizers',
          class_name: 'Adam',
          config: {
            name: 'adam',
            learning_rate: o.learningRate,
            beta_1: o.beta1,
            beta_2: o.beta2,
            epsilon: o.epsilon,
            amsgrad: false,
          },
          registered_name: null,
        }
      : {
          module: 'keras.optimizers',
          class_name: 'SGD',
          config: { name: 'SGD', learning_rate: o.learningRate, momentum: 0, nesterov: false },
          registered_name: null,
        };
  return {
    optimizer,
    loss: c.loss === 'mse' ? 'mse' : 'binary_crossentropy',
    loss_weights: null,
    metrics: null,
    weighted_metrics: null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: true,
  };
}
