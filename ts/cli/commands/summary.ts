/** `summary`: a model's layers, shapes and parameter counts, as Keras's `model.summary()`. */
import { type Command } from '../args.js';
import { MODEL_FLAGS, initThreads, loadModel } from '../io.js';

export const summary: Command = {
  name: 'summary',
  summary: "a model's layers, output shapes and parameters (as Keras's model.summary())",
  usage: '--model FILE | --pretrained NAME',
  flags: { ...MODEL_FLAGS },
  async run(flags) {
    await initThreads({ threads: '1' });
    const model = await loadModel(flags);
    try {
      console.log(model.summary());
    } finally {
      model.dispose();
    }
  },
};
