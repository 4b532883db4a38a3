#!/usr/bin/env python3
"""Generates the Keras-weights parity fixtures read by tests/zoo_weights.rs:

- tests/fixtures/keras_mobilenet_v2.safetensors: keras.applications.MobileNetV2(alpha=0.35,
  input_shape=(32, 32, 3), classes=10, classifier_activation=None), saved by
  tools/keras_to_safetensors.py;
- tests/fixtures/keras_small_functional.safetensors: a small functional model (conv, BN,
  ReLU, depthwise, separable, add, max-pool, concatenate, global pooling, dense) that
  tests/zoo_weights.rs rebuilds with the same layer names;
- tests/fixtures/keras_weights_io.safetensors: for each model `<m>/x`, a random input
  batch, and `<m>/y`, Keras's inference output (`training=False`).

BatchNormalization statistics and scales are randomised so inference exercises them.

Usage: pip install tensorflow-cpu safetensors numpy; python3 tools/gen_keras_weights_fixtures.py
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from keras_to_safetensors import save_keras_weights  # noqa: E402

FIX = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
rng = np.random.RandomState(20261130)


def randomise_batchnorm(model):
    """Gives every BatchNormalization non-trivial gamma, beta and moving statistics."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            for v in layer.weights:
                n = v.shape
                name = v.path.rsplit("/", 1)[1]
                if name in ("gamma", "moving_variance"):
                    v.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
                else:
                    v.assign((0.2 * rng.standard_normal(n)).astype(np.float32))


def small_functional():
    """The model tests/zoo_weights.rs rebuilds layer for layer."""
    inp = keras.Input((12, 10, 3), name="image")
    a = layers.Conv2D(8, 3, padding="same", name="conv_a")(inp)
    a = layers.BatchNormalization(name="bn_a")(a)
    a = layers.ReLU(name="relu_a")(a)
    b = layers.DepthwiseConv2D(3, padding="same", name="dw_b")(inp)
    b = layers.Conv2D(8, 1, name="pw_b")(b)
    s = layers.Add(name="add")([a, b])
    p = layers.MaxPooling2D(2, name="pool")(s)
    q = layers.SeparableConv2D(6, 3, strides=2, padding="same", name="sep")(s)
    c = layers.Concatenate(name="concat")([p, q])
    g = layers.GlobalAveragePooling2D(name="gap")(c)
    out = layers.Dense(5, name="logits")(g)
    return keras.Model(inp, out, name="small_functional")


def main():
    keras.utils.set_random_seed(20261130)
    io = {}
    models = [
        ("mobilenet_v2", keras.applications.MobileNetV2(
            weights=None, alpha=0.35, input_shape=(32, 32, 3), classes=10, classifier_activation=None)),
        ("small_functional", small_functional()),
    ]
    for name, model in models:
        randomise_batchnorm(model)
        x = rng.standard_normal((2,) + tuple(model.input.shape[1:])).astype(np.float32)
        y = np.asarray(model(x, training=False), dtype=np.float32)
        io[f"{name}/x"] = x
        io[f"{name}/y"] = y
        save_keras_weights(model, os.path.join(FIX, f"keras_{name}.safetensors"))
        print(name, model.count_params(), y.shape)
    save_file(io, os.path.join(FIX, "keras_weights_io.safetensors"))


if __name__ == "__main__":
    main()
