#!/usr/bin/env python3
"""Native anchor for bench/run.mjs: one model, one framework, one thread count, in its own process.

    python native_bench.py --framework keras-jax|torch --model vanilla|deep|convolutional|denoising
                           --threads 1|2 --data DIR [--epochs 1] [--seed 1]

Data: the .npy files bench/run.mjs wrote from the SDK's loadMnist() (48,000 training images,
the 10,000 test images, and their noisy copies for the denoiser); nothing is downloaded here.

keras-jax: Keras 3 on the JAX CPU backend, the tutorial's functional model code with the
architecture of ts/presets.ts (ReLU everywhere, MSE; the tutorial's vanilla/conv outputs are
sigmoid with binary cross-entropy, and its first/last conv layers have 16 filters where the
presets have 32), Adam(1e-3), batch 256, fit(shuffle=True).
torch: the same layers as a torch.nn.Sequential (NCHW; 'same' max-pooling as ceil_mode,
Glorot-uniform weights and zero biases like Keras), Adam(lr=1e-3, eps=1e-7), MSE, batch 256.

Prints one line `BENCH_RESULT {json}`: epoch wall time (including JIT/XLA compilation),
steady-state ms per full batch (median of the batches after the first two), inference
images/s on the test set (after a warm-up pass), test MSE after the epochs, peak RSS.
"""
import argparse
import json
import os
import resource
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--framework", required=True, choices=["keras-jax", "torch"])
p.add_argument("--model", required=True, choices=["vanilla", "deep", "convolutional", "denoising"])
p.add_argument("--threads", type=int, required=True)
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--seed", type=int, default=1)
args = p.parse_args()

# Thread limits must be set before the frameworks load (bench/run.mjs also pins 1-thread runs
# to one core with taskset).
n = str(args.threads)
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = n
if args.framework == "keras-jax":
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["JAX_PLATFORMS"] = "cpu"
    if args.threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import numpy as np  # noqa: E402

BATCH = 256
dense = args.model in ("vanilla", "deep")


def load(name):
    return np.load(os.path.join(args.data, name))


x_train = load("x_train.npy")
x_test = load("x_test.npy")
if args.model == "denoising":
    x_train_in, x_test_in = load("x_train_noisy.npy"), load("x_test_noisy.npy")
else:
    x_train_in, x_test_in = x_train, x_test
if dense:
    x_train, x_test, x_train_in, x_test_in = (a.reshape(len(a), 784) for a in (x_train, x_test, x_train_in, x_test_in))

result = {"peer": args.framework, "model": args.model, "threads": args.threads, "epochs": args.epochs}
batches_per_epoch = int(np.ceil(len(x_train) / BATCH))


def steady(stamps, t0):
    """Median ms of the full batches after the first two (which include compilation)."""
    ms = [1000 * (s - (stamps[i - 1] if i else t0)) for i, s in enumerate(stamps)]
    full = ms[: len(x_train) // BATCH]  # drop the final partial batch (128 images)
    body = full[2:] if len(full) > 4 else full
    return {"firstBatchesMs": ms[:2], "medianMs": float(np.median(body)), "meanMs": float(np.mean(body)), "count": len(body)}


if args.framework == "keras-jax":
    import jax
    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    result["versions"] = {"keras": keras.__version__, "jax": jax.__version__, "backend": keras.backend.backend()}

    # The tutorial's code (blog.keras.io "Building Autoencoders in Keras"), presets' architecture.
    if args.model == "vanilla":
        encoding_dim = 64
        input_img = keras.Input(shape=(784,))
        encoded = layers.Dense(encoding_dim, activation="relu")(input_img)
        decoded = layers.Dense(784, activation="relu")(encoded)
        autoencoder = keras.Model(input_img, decoded)
    elif args.model == "deep":
        input_img = keras.Input(shape=(784,))
        encoded = layers.Dense(512, activation="relu")(input_img)
        encoded = layers.Dense(256, activation="relu")(encoded)
        encoded = layers.Dense(128, activation="relu")(encoded)
        encoded = layers.Dense(64, activation="relu")(encoded)
        decoded = layers.Dense(128, activation="relu")(encoded)
        decoded = layers.Dense(256, activation="relu")(decoded)
        decoded = layers.Dense(512, activation="relu")(decoded)
        decoded = layers.Dense(784, activation="relu")(decoded)
        autoencoder = keras.Model(input_img, decoded)
    else:
        input_img = keras.Input(shape=(28, 28, 1))
        x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input_img)
        x = layers.MaxPooling2D((2, 2), padding="same")(x)
        x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
        x = layers.MaxPooling2D((2, 2), padding="same")(x)
        x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
        encoded = layers.MaxPooling2D((2, 2), padding="same")(x)
        # at this point the representation is (4, 4, 8) i.e. 128-dimensional
        x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(encoded)
        x = layers.UpSampling2D((2, 2))(x)
        x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
        x = layers.UpSampling2D((2, 2))(x)
        x = layers.Conv2D(32, (3, 3), activation="relu")(x)
        x = layers.UpSampling2D((2, 2))(x)
        decoded = layers.Conv2D(1, (3, 3), activation="relu", padding="same")(x)
        autoencoder = keras.Model(input_img, decoded)
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    result["params"] = autoencoder.count_params()

    class Timer(keras.callbacks.Callback):
        stamps = []

        def on_train_batch_end(self, batch, logs=None):
            Timer.stamps.append(time.perf_counter())

    t0 = time.perf_counter()
    history = autoencoder.fit(x_train_in, x_train, epochs=args.epochs, batch_size=BATCH, shuffle=True, verbose=0, callbacks=[Timer()])
    t1 = time.perf_counter()
    result["epochSeconds"] = (t1 - t0) / args.epochs
    result["trainLoss"] = [float(v) for v in history.history["loss"]]
    result["train"] = steady(Timer.stamps[:batches_per_epoch], t0)
    result["testMse"] = float(autoencoder.evaluate(x_test_in, x_test, batch_size=BATCH, verbose=0))
    autoencoder.predict(x_test_in, batch_size=BATCH, verbose=0)  # compile
    i0 = time.perf_counter()
    autoencoder.predict(x_test_in, batch_size=BATCH, verbose=0)
    result["infer"] = {"images": len(x_test_in), "imagesPerSecond": len(x_test_in) / (time.perf_counter() - i0)}
else:
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    result["versions"] = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if dense:
        widths = [64, 784] if args.model == "vanilla" else [512, 256, 128, 64, 128, 256, 512, 784]
        mods, prev = [], 784
        for w in widths:
            mods += [nn.Linear(prev, w), nn.ReLU()]
            prev = w
    else:
        def conv(cin, cout, pad=1):
            return [nn.Conv2d(cin, cout, 3, padding=pad), nn.ReLU()]

        pool = lambda: nn.MaxPool2d(2, ceil_mode=True)  # == Keras padding='same' for 28→14→7→4
        up = lambda: nn.Upsample(scale_factor=2, mode="nearest")
        mods = [*conv(1, 32), pool(), *conv(32, 8), pool(), *conv(8, 8), pool(),
                *conv(8, 8), up(), *conv(8, 8), up(), *conv(8, 32, pad=0), up(), *conv(32, 1)]
        to_nchw = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))
        x_train, x_test, x_train_in, x_test_in = (to_nchw(a) for a in (x_train, x_test, x_train_in, x_test_in))
    model = nn.Sequential(*mods)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    result["params"] = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.MSELoss()
    xt_in, xt = torch.from_numpy(x_train_in), torch.from_numpy(x_train)
    stamps, losses = [], []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xt))
        total = 0.0
        for b in range(0, len(xt), BATCH):
            idx = perm[b : b + BATCH]
            xb, yb = xt_in[idx], xt[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            stamps.append(time.perf_counter())
        losses.append(total / len(xt))
    t1 = time.perf_counter()
    result["epochSeconds"] = (t1 - t0) / args.epochs
    result["trainLoss"] = losses
    result["train"] = steady(stamps[:batches_per_epoch], t0)
    with torch.no_grad():
        xi, yi = torch.from_numpy(x_test_in), torch.from_numpy(x_test)
        predict = lambda: torch.cat([model(xi[b : b + BATCH]) for b in range(0, len(xi), BATCH)])
        out = predict()
        result["testMse"] = float(((out - yi) ** 2).mean())
        i0 = time.perf_counter()
        predict()
        result["infer"] = {"images": len(xi), "imagesPerSecond": len(xi) / (time.perf_counter() - i0)}



def peak_rss_mb():
    """VmHWM of this process image (getrusage's maxrss would include the parent's, carried across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


result["peakRssMB"] = peak_rss_mb()
print("BENCH_RESULT " + json.dumps(result), flush=True)
