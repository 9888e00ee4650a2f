/**
 * TensorFlow.js layers models as files in Node: a model.json beside its weight shards, as
 * `model.save('file://dir')` (tfjs-node) and the Python converter write them.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Autoencoder } from '../autoencoder.js';
import { AutoencoderError, CorruptDataError, ValueError } from '../errors.js';
import { exportTfjs, importTfjs, planTfjsImport, TFJS_WEIGHTS_FILE, type ImportTfjsOptions } from '../interop/tfjs.js';
import { assertNonEmptyString, describeValue } from '../validate.js';

function fileError(what: string, file: string, e: unknown): AutoencoderError {
  const code = (e as { code?: string })?.code;
  const missing = code === 'ENOENT' || code === 'ENOTDIR';
  return new AutoencoderError(`${what}: cannot read ${file}: ${missing ? 'no such file' : (e as Error)?.message}`, {
    code: missing ? 'ERR_FILE_NOT_FOUND' : 'ERR_FILE_READ',
    cause: e,
  });
}

/**
 * Writes the model to `dir` (created if needed) as `model.json` and `group1-shard1of1.bin`,
 * which `tf.loadLayersModel('file://dir/model.json')` and loadTfjs read. Returns both paths.
 */
export async function saveTfjs(model: Autoencoder, dir: string): Promise<{ modelJson: string; weights: string }> {
  if (!(model instanceof Autoencoder))
    throw new ValueError(`saveTfjs takes an Autoencoder, got ${describeValue(model)}`);
  assertNonEmptyString('saveTfjs dir', dir);
  const { modelJson, weightData } = exportTfjs(model);
  await mkdir(dir, { recursive: true });
  const jsonPath = path.join(dir, 'model.json');
  const weightsPath = path.join(dir, TFJS_WEIGHTS_FILE);
  // Weights first: a model.json never points at a missing weight file.
  await writeFile(weightsPath, weightData);
  await writeFile(jsonPath, JSON.stringify(modelJson));
  return { modelJson: jsonPath, weights: weightsPath };
}

/**
 * Reads a TensorFlow.js layers model: the model.json at `modelJsonPath` and the weight
 * files its manifest names, relative to it (several groups and shards, float32 or
 * quantised). The architecture and the shard sizes are checked before any shard is read.
 * Needs `await init()`.
 */
export async function loadTfjs(modelJsonPath: string, opts?: ImportTfjsOptions): Promise<Autoencoder> {
  assertNonEmptyString('loadTfjs path', modelJsonPath);
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch (e) {
    throw fileError('loadTfjs', modelJsonPath, e);
  }
  const plan = planTfjsImport(text, opts);
  const dir = path.dirname(path.resolve(modelJsonPath));
  const files = plan.paths.map((p) => {
    // Manifest paths are names beside the model.json; a path that leaves its folder or is a URL is not one of them.
    const file = path.resolve(dir, p);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p) || path.isAbsolute(p) || !file.startsWith(dir + path.sep)) {
      throw new CorruptDataError(
        `${modelJsonPath}: weight path ${JSON.stringify(p)} is not a file beside the model.json`,
      );
    }
    return file;
  });
  let total = 0;
  for (const file of files) {
    try {
      total += (await stat(file)).size;
    } catch (e) {
      throw fileError('loadTfjs', file, e);
    }
  }
  if (total !== plan.byteLength) {
    throw new CorruptDataError(
      `${modelJsonPath}: its ${files.length} weight file(s) hold ${total} bytes, the weights manifest describes ${plan.byteLength}`,
    );
  }
  const shards: Uint8Array[] = [];
  for (const file of files) {
    try {
      shards.push(await readFile(file));
    } catch (e) {
      throw fileError('loadTfjs', file, e);
    }
  }
  return importTfjs(text, shards, opts);
}
