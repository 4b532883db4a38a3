#!/usr/bin/env python3
"""Generates tests/fixtures/keras_zoo.json: the structure of the keras.applications networks
that Tessera's zoo reproduces (built with weights=None, so nothing is downloaded).

For each model and argument set: every layer's name, class, output shape (without the batch
dimension), parameter count and trainable parameter count, plus the model's totals. Read by
tests/zoo_keras.rs.

Usage: pip install tensorflow-cpu; python3 tools/gen_keras_zoo_fixtures.py
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from keras import applications as A  # noqa: E402

OUT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "keras_zoo.json"))

# (fixture name, constructor, keyword arguments)
SPECS = [
    ("resnet50", A.ResNet50, {}),
    ("resnet101", A.ResNet101, {}),
    ("vgg16", A.VGG16, {}),
    ("vgg19", A.VGG19, {}),
    ("mobilenet_v2", A.MobileNetV2, {}),
    ("mobilenet_v2_a0.5_96_c10", A.MobileNetV2, {"alpha": 0.5, "input_shape": (96, 96, 3), "classes": 10}),
    ("densenet121", A.DenseNet121, {}),
    ("inception_v3", A.InceptionV3, {}),
    ("xception", A.Xception, {}),
    ("resnet50_64_c10", A.ResNet50, {"input_shape": (64, 64, 3), "classes": 10}),
]


def count(weights):
    return int(sum(int(w.numpy().size) for w in weights))


def describe(model):
    layers = []
    for layer in model.layers:
        shape = layer.output.shape
        layers.append({
            "name": layer.name,
            "class": layer.__class__.__name__,
            "shape": [int(d) for d in shape[1:]],
            "params": count(layer.weights),
            "trainable": count(layer.trainable_weights),
        })
    return {
        "total": count(model.weights),
        "trainable": count(model.trainable_weights),
        "layers": layers,
    }


def main():
    out = {"__keras_version__": keras.__version__}
    for name, ctor, kwargs in SPECS:
        keras.utils.clear_session()
        model = ctor(weights=None, **kwargs)
        out[name] = {"args": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}, **describe(model)}
        print(name, out[name]["total"], len(out[name]["layers"]))
    with open(OUT + ".tmp", "w") as f:
        json.dump(out, f, separators=(",", ":"))
    os.replace(OUT + ".tmp", OUT)


if __name__ == "__main__":
    main()
