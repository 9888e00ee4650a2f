/** `evaluate`: a model's test MSE and PSNR on the 10,000 MNIST test images. */
import { addGaussianNoise, mse, psnr } from '../../index.js';
import { numberFlag, type Command } from '../args.js';
import { DATA_FLAG, MODEL_FLAGS, asModelInput, initThreads, loadData, loadModel } from '../io.js';

export const evaluate: Command = {
  name: 'evaluate',
  summary: 'test MSE and PSNR of a model on the MNIST test images',
  usage: '--model FILE | --pretrained NAME [--noise STD] [--data DIR]',
  flags: {
    ...MODEL_FLAGS,
    noise: {
      type: 'string',
      value: 'STD',
      help: 'score denoising: noisy inputs (x + STD·N(0,1), clipped) against clean targets; default 0.25 for --pretrained denoising, else 0',
    },
    seed: { type: 'string', value: 'N', help: 'seed of the noise', default: '1' },
    data: DATA_FLAG,
  },
  async run(flags) {
    await initThreads({ threads: '1' });
    const model = await loadModel(flags);
    try {
      const noise = numberFlag(flags, 'noise', { min: 0 }) ?? (flags.pretrained === 'denoising' ? 0.25 : 0);
      const { test } = await loadData(flags);
      const clean = asModelInput(model, test);
      const input =
        noise > 0
          ? asModelInput(
              model,
              addGaussianNoise(test, noise, { seed: numberFlag(flags, 'seed', { integer: true, min: 0 })! }),
            )
          : clean;
      const output = model.predict(input);
      console.log(`test images: ${test.shape[0]}`);
      console.log(`test MSE:  ${mse(output, clean).toFixed(6)}   PSNR ${psnr(output, clean).toFixed(2)} dB`);
      if (noise > 0) {
        console.log(
          `noisy input (σ = ${noise}): MSE ${mse(input, clean).toFixed(6)}   PSNR ${psnr(input, clean).toFixed(2)} dB`,
        );
      }
    } finally {
      model.dispose();
    }
  },
};
