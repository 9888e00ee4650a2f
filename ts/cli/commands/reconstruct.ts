/**
 * `reconstruct`: PNG digits through a model; writes a grid, inputs (as the model saw them,
 * after prepareDigit) on top and the reconstructions below.
 */
import { imageGrid, tensor } from '../../index.js';
import { writePng } from '../../node/png.js';
import { numberFlag, type Command } from '../args.js';
import { MODEL_FLAGS, asModelInput, initThreads, loadDigits, loadModel } from '../io.js';

export const reconstruct: Command = {
  name: 'reconstruct',
  summary: 'run PNG digits through a model and write inputs and reconstructions as one grid PNG',
  usage: '--model FILE | --pretrained NAME --input PNG|DIR --out grid.png',
  flags: {
    ...MODEL_FLAGS,
    input: { type: 'string', value: 'PNG|DIR', help: 'a PNG, or a directory of PNGs', required: true },
    out: { type: 'string', value: 'FILE', help: 'the grid PNG to write', required: true },
    scale: { type: 'string', value: 'N', help: 'pixel enlargement', default: '4' },
  },
  async run(flags) {
    const scale = numberFlag(flags, 'scale', { integer: true, min: 1, max: 32 })!;
    await initThreads({ threads: '1' });
    const model = await loadModel(flags);
    try {
      const { names, images } = await loadDigits(flags.input as string);
      const output = model.predict(asModelInput(model, images));
      const recon = tensor(output.data, images.shape);
      await writePng(flags.out as string, imageGrid([images, recon], { scale }));
      console.log(`wrote ${flags.out}: ${names.length} image(s) (top) and their reconstructions (bottom)`);
    } finally {
      model.dispose();
    }
  },
};
