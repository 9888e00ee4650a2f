/**
 * `wasm-autoencoders/node`: what only Node can do, on top of the SDK — PNG files in and out.
 * Everything else (models, `prepareDigit`, `imageGrid`, `pretrained`) is in the main entry.
 */
export { decodePng, encodePng, readPng, writePng } from './png.js';
export { saveTfjs, loadTfjs } from './tfjs-files.js';
export { loadKeras, saveKeras } from './keras-files.js';
