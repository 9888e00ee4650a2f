/**
 * wasm-autoencoders: autoencoders trained on the CPU with Rust kernels compiled to
 * WebAssembly SIMD. `await init()` once, then build, train and use models.
 */
export { init, isInitialized, memoryInfo as memory, threadCount, type InitSource, type InitOptions } from './wasm.js';
export { tensor, type Tensor } from './tensor.js';
export { byteTensor, type ByteTensor, type AnyTensor } from './byte-tensor.js';
export { layers, type LayerSpec, type Activation, type Padding } from './layers.js';
export { Autoencoder, type SequentialOptions, type ToBytesOptions } from './autoencoder.js';
export type { WeightDtype } from './format.js';
export type { CompileOptions, OptimizerConfig, OptimizerName, LossName } from './compile.js';
export type { FitOptions, History, EpochLogs } from './fit.js';
export type { Dataset, DatasetBatch, FitDatasetOptions } from './fit-dataset.js';
export { sequential, vanilla, deep, convolutional, denoising, TUTORIAL_SEEDS } from './presets.js';
export { loadMnist, parseMnist } from './mnist.js';
export { addGaussianNoise } from './noise.js';
export { mse, msePerSample, psnr } from './metrics.js';
export { prepareDigit } from './images/digit.js';
export { imageGrid, type GreyImage, type ImageGridOptions } from './images/grid.js';
export type { PixelImage, Channels } from './images/image.js';
export {
  exportTfjs,
  importTfjs,
  TFJS_WEIGHTS_FILE,
  type ImportTfjsOptions,
  type TfjsModelJson,
  type TfjsWeightEntry,
} from './interop/tfjs.js';
export { importKeras, exportKeras, BOTTLENECK_LAYER_NAME, type ImportKerasOptions } from './interop/keras-file.js';
export { pretrained, pretrainedModels, type PretrainedName, type PretrainedOptions } from './pretrained.js';
export {
  AutoencoderError,
  ShapeError,
  ValueError,
  DisposedError,
  CorruptDataError,
  NotInitializedError,
  DivergenceError,
  OutOfMemoryError,
} from './errors.js';
export {
  earlyStopping,
  modelCheckpoint,
  reduceLROnPlateau,
  type Callback,
  type CallbackContext,
  type EarlyStoppingOptions,
  type ModelCheckpointOptions,
  type ReduceLROnPlateauOptions,
} from './callbacks.js';
export { spawnTrainer, Trainer } from './trainer.js';
export { RemoteAutoencoder } from './remote-autoencoder.js';
export type {
  SpawnTrainerOptions,
  PresetName,
  PresetOptions,
  RemoteFitOptions,
  TransferOption,
} from './trainer-options.js';
