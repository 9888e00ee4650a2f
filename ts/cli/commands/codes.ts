/**
 * `encode` and `decode`: PNG digits to a code file (the encoder's output for each) and back
 * to PNGs (the decoder's output). The code file names the model that made it; decoding with
 * another model is refused.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageGrid, tensor } from '../../index.js';
import { writePng } from '../../node/png.js';
import { UsageError, numberFlag, type Command } from '../args.js';
import { decodeCodeFile, encodeCodeFile, modelId } from '../code-file.js';
import { MODEL_FLAGS, asModelInput, initThreads, loadDigits, loadModel, readInput } from '../io.js';

export const encode: Command = {
  name: 'encode',
  summary: "PNG digits to a code file: each image's code (the encoder's output)",
  usage: '--model FILE | --pretrained NAME --input PNG|DIR --out codes.waec',
  flags: {
    ...MODEL_FLAGS,
    input: { type: 'string', value: 'PNG|DIR', help: 'a PNG, or a directory of PNGs', required: true },
    out: { type: 'string', value: 'FILE', help: 'the code file to write', required: true },
  },
  async run(flags) {
    await initThreads({ threads: '1' });
    const model = await loadModel(flags);
    try {
      const { names, images } = await loadDigits(flags.input as string);
      const codes = model.encode(asModelInput(model, images));
      const bytes = encodeCodeFile({
        model: modelId(model.toBytes()),
        codeShape: model.codeShape,
        names,
        codes: codes.data,
      });
      await writeFile(flags.out as string, bytes);
      const perImage = model.codeShape.reduce((a, b) => a * b, 1);
      console.log(
        `wrote ${flags.out}: ${names.length} code(s) of ${perImage} numbers [${model.codeShape.join(', ')}], ${bytes.length} bytes`,
      );
    } finally {
      model.dispose();
    }
  },
};

export const decode: Command = {
  name: 'decode',
  summary: 'a code file back to PNG digits, with the model that encoded it',
  usage: '--model FILE | --pretrained NAME --input codes.waec --out DIR|grid.png',
  flags: {
    ...MODEL_FLAGS,
    input: { type: 'string', value: 'FILE', help: 'a code file written by `encode`', required: true },
    out: {
      type: 'string',
      value: 'DIR|PNG',
      help: 'a directory (one PNG per code) or a .png (one row)',
      required: true,
    },
    scale: { type: 'string', value: 'N', help: 'pixel enlargement', default: '1' },
  },
  async run(flags) {
    const scale = numberFlag(flags, 'scale', { integer: true, min: 1, max: 32 })!;
    const file = decodeCodeFile(await readInput(flags.input as string), flags.input as string);
    await initThreads({ threads: '1' });
    const model = await loadModel(flags);
    try {
      if (modelId(model.toBytes()) !== file.model) {
        throw new Error(`${flags.input} was encoded with another model (id ${file.model}); decode it with that one`);
      }
      const count = file.names.length;
      if (count === 0) throw new UsageError(`${flags.input} holds no codes`);
      const images = model.decode(tensor(file.codes, [count, ...file.codeShape]));
      const flat = tensor(images.data, [count, 28, 28, 1]);
      const out = flags.out as string;
      if (out.toLowerCase().endsWith('.png')) {
        await writePng(out, imageGrid([flat], { scale }));
        console.log(`wrote ${out}: ${count} decoded image(s)`);
        return;
      }
      await mkdir(out, { recursive: true });
      for (const [i, name] of file.names.entries()) {
        const one = tensor(flat.data.subarray(i * 784, (i + 1) * 784), [1, 28, 28, 1]);
        await writePng(join(out, name), imageGrid([one], { scale, gap: 0 }));
      }
      console.log(`wrote ${count} decoded image(s) to ${out}`);
    } finally {
      model.dispose();
    }
  },
};
