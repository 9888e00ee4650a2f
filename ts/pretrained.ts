/**
 * The tutorial's four models, trained for 50 epochs by `scripts/train-pretrained.mjs` and
 * shipped in the package as model files (`dist/browser/models/<name>.wae`, one copy for both builds). They travel the way the
 * `.wasm` does: in Node they are read from beside the SDK; in browsers fetched from beside
 * the bundle, and bundlers (Vite, webpack) emit them as assets because each URL is a literal
 * `new URL('./models/…', import.meta.url)`. The seed, the data, the epochs and the test MSE
 * each reached are in `models/<name>.json` in the repository.
 */
import { Autoencoder } from './autoencoder.js';
import { AutoencoderError, ValueError } from './errors.js';
import { readBytes, resolveUserUrl } from './runtime.js';
import { assertOneOf, checkOptions, describeValue } from './validate.js';

export const PRETRAINED_MODELS = ['vanilla', 'deep', 'convolutional', 'denoising'] as const;
export type PretrainedName = (typeof PRETRAINED_MODELS)[number];

export interface PretrainedOptions {
  /** Where the model file is instead (a URL, a path in Node, or its bytes), e.g. on a CDN. */
  source?: string | URL | Uint8Array;
}

/** The names `pretrained()` accepts. */
export function pretrainedModels(): PretrainedName[] {
  return [...PRETRAINED_MODELS];
}

/**
 * Beside the bundle first (the browser build: dist/browser/models/, a literal URL per model
 * so bundlers emit each file as an asset), then the Node build's view of that same folder
 * (the package ships one copy of the models), then the repository's models/ (a checkout).
 */
function locations(name: PretrainedName): URL[] {
  const here = import.meta.url; // through a variable: bundlers leave the fallbacks alone
  const fallbacks = [new URL(`./browser/models/${name}.wae`, here), new URL(`../models/${name}.wae`, here)];
  switch (name) {
    case 'vanilla':
      return [new URL('./models/vanilla.wae', import.meta.url), ...fallbacks];
    case 'deep':
      return [new URL('./models/deep.wae', import.meta.url), ...fallbacks];
    case 'convolutional':
      return [new URL('./models/convolutional.wae', import.meta.url), ...fallbacks];
    case 'denoising':
      return [new URL('./models/denoising.wae', import.meta.url), ...fallbacks];
  }
}

/**
 * A trained tutorial model, ready to `predict`, `encode`, `decode` or to train further
 * (compiled like the tutorial: Adam(1e-3), MSE). Needs `init()` first.
 */
export async function pretrained(name: PretrainedName, opts?: PretrainedOptions): Promise<Autoencoder> {
  assertOneOf('pretrained model name', name, PRETRAINED_MODELS);
  const o = checkOptions<PretrainedOptions>('pretrained options', opts, ['source']);
  if (o.source !== undefined) {
    if (o.source instanceof Uint8Array) return Autoencoder.fromBytes(o.source);
    if (typeof o.source !== 'string' && !(o.source instanceof URL)) {
      throw new ValueError(`pretrained source must be a URL, a path or bytes, got ${describeValue(o.source)}`);
    }
    return Autoencoder.fromBytes(await readBytes(await resolveUserUrl(o.source)));
  }
  const tried: string[] = [];
  for (const url of locations(name)) {
    let bytes: Uint8Array;
    try {
      bytes = await readBytes(url);
    } catch (e) {
      tried.push(`${url.href} (${(e as Error).message})`);
      continue;
    }
    return Autoencoder.fromBytes(bytes);
  }
  throw new AutoencoderError(
    `pretrained('${name}'): the model file is missing; looked at ${tried.join(', ')}. ` +
      'Pass { source } if your bundler did not copy dist/models/.',
    { code: 'ERR_PRETRAINED_MISSING' },
  );
}
