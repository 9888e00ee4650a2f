/**
 * `denoise`: a noisy PNG digit (or a directory of them) through the denoising model; writes
 * the clean 28×28 digit(s), enlarged --scale times.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { imageGrid, tensor } from '../../index.js';
import { writePng } from '../../node/png.js';
import { numberFlag, type Command } from '../args.js';
import { MODEL_FLAGS, asModelInput, initThreads, loadDigits, loadModel } from '../io.js';

export const denoise: Command = {
  name: 'denoise',
  summary: 'remove noise from PNG digits with the denoising model (the pretrained one by default)',
  usage: '[--model FILE | --pretrained NAME] --input PNG|DIR --out PNG|DIR',
  flags: {
    ...MODEL_FLAGS,
    input: { type: 'string', value: 'PNG|DIR', help: 'a noisy PNG, or a directory of PNGs', required: true },
    out: { type: 'string', value: 'PNG|DIR', help: 'the clean PNG (a directory when --input is one)', required: true },
    scale: { type: 'string', value: 'N', help: 'pixel enlargement of the output', default: '1' },
  },
  async run(flags) {
    const scale = numberFlag(flags, 'scale', { integer: true, min: 1, max: 32 })!;
    await initThreads({ threads: '1' });
    const model = await loadModel(flags, 'denoising');
    try {
      const { names, images, fromDirectory } = await loadDigits(flags.input as string);
      const clean = tensor(model.predict(asModelInput(model, images)).data, images.shape);
      const one = (i: number) => tensor(clean.data.subarray(i * 784, (i + 1) * 784), [1, 28, 28, 1]);
      const out = flags.out as string;
      if (!fromDirectory) {
        await writePng(out, imageGrid([one(0)], { scale, gap: 0 }));
        console.log(`wrote ${out}`);
        return;
      }
      await mkdir(out, { recursive: true });
      for (const [i, name] of names.entries()) await writePng(join(out, name), imageGrid([one(i)], { scale, gap: 0 }));
      console.log(`wrote ${names.length} denoised image(s) to ${out}`);
    } finally {
      model.dispose();
    }
  },
};
