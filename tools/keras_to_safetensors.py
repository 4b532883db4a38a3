#!/usr/bin/env python3
"""Saves every variable of a Keras model to safetensors under its Keras path
(`variable.path`, e.g. `Conv1/kernel`, `bn_Conv1/moving_mean`), float32, for Tessera's
`load_keras_weights` (tessera::zoo) to load into the zoo twin of the model.

Usage (where Keras is installed: pip install tensorflow-cpu safetensors numpy):
    python3 tools/keras_to_safetensors.py model.keras out.safetensors
    python3 tools/keras_to_safetensors.py applications:MobileNetV2 out.safetensors [--weights imagenet]
The second form builds `keras.applications.<Name>(weights=...)` (imagenet weights are
downloaded by Keras); load it in Tessera with e.g. `zoo::mobilenet_v2(&[224, 224, 3], 1000, 1.0)`.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402


def keras_weights(model):
    """{variable path: float32 array} for every variable of `model` (trainable or not)."""
    out = {}
    for v in model.weights:
        path = v.path
        if path in out:
            raise ValueError(f"two variables share the path {path!r}")
        out[path] = np.ascontiguousarray(np.asarray(v.numpy(), dtype=np.float32))
    return out


def save_keras_weights(model, path):
    """Writes `model`'s variables to `path` (safetensors, tagged with the Keras version)."""
    import keras

    meta = {"format": "keras-weights", "keras_version": keras.__version__, "model": model.name}
    save_file(keras_weights(model), path, metadata=meta)


def load_model(spec, weights):
    """A saved model file, or `applications:<Name>` built with `weights`."""
    import keras

    if spec.startswith("applications:"):
        ctor = getattr(keras.applications, spec.split(":", 1)[1])
        return ctor(weights=None if weights == "none" else weights)
    return keras.models.load_model(spec, compile=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a .keras/.h5 file or applications:<Name>")
    ap.add_argument("out", help="the safetensors file to write")
    ap.add_argument("--weights", default="imagenet", help="for applications: imagenet, none or a file")
    args = ap.parse_args()
    model = load_model(args.model, args.weights)
    save_keras_weights(model, args.out)
    print(f"{args.out}: {len(model.weights)} variables, {model.count_params():,} parameters")


if __name__ == "__main__":
    main()
