#!/usr/bin/env python3
"""Generates tests/fixtures/keras_optimizers.safetensors: Keras 3 optimizer and learning-rate
schedule reference values (TensorFlow backend, CPU), read by tests/optimizers.rs.

Every optimizer case starts two variables (shapes [3, 4] and [5]) from fixed values and applies
a fixed sequence of STEPS gradients with `optimizer.apply_gradients(zip(grads, vars))`:
`<case>/var<j>/init`, `<case>/var<j>/grad<s>` and the values after each step
`<case>/var<j>/step<s>`, and the optimizer's slot variables after the last step as
`<case>/var<j>/slot/<name>` under Tessera's checkpoint names (Adam's `momentum`, `velocity`
and `velocity_hat` are `m`, `v` and `vhat`). Each schedule case stores its value at every step in
`schedules/steps` as `schedules/<name>`. The safetensors `__metadata__` maps every case to the
Keras constructor that made it (documentation; the Rust test builds the same configuration
from the case name).

Usage: pip install tensorflow-cpu safetensors numpy; python3 tools/gen_keras_optimizer_fixtures.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import optimizers as O  # noqa: E402
from keras.optimizers import schedules as S  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

OUT = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "keras_optimizers.safetensors")
)
STEPS = 5
SHAPES = [(3, 4), (5,)]
SCHEDULE_STEPS = list(range(13))
rng = np.random.RandomState(20261130)
tensors = {}
metadata = {}

# name -> the Keras constructor (as source text, evaluated here and recorded in the metadata).
OPTIMIZERS = [
    ("sgd", "O.SGD(learning_rate=0.1)"),
    ("sgd_default", "O.SGD()"),
    ("sgd_momentum", "O.SGD(learning_rate=0.1, momentum=0.9)"),
    ("sgd_nesterov", "O.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)"),
    ("adam", "O.Adam()"),
    ("adam_options", "O.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-5)"),
    ("adam_amsgrad", "O.Adam(learning_rate=0.01, amsgrad=True)"),
    ("adamw", "O.AdamW()"),
    ("adamw_options", "O.AdamW(learning_rate=0.01, weight_decay=0.1, amsgrad=True)"),
    ("rmsprop", "O.RMSprop()"),
    ("rmsprop_momentum", "O.RMSprop(learning_rate=0.01, momentum=0.9)"),
    ("rmsprop_centered", "O.RMSprop(learning_rate=0.01, rho=0.8, centered=True)"),
    ("rmsprop_centered_momentum", "O.RMSprop(learning_rate=0.01, momentum=0.5, centered=True, epsilon=1e-4)"),
    ("sgd_clipnorm", "O.SGD(learning_rate=0.1, clipnorm=1.0)"),
    ("adam_clipnorm", "O.Adam(learning_rate=0.01, clipnorm=0.5)"),
    ("sgd_global_clipnorm", "O.SGD(learning_rate=0.1, momentum=0.5, global_clipnorm=2.0)"),
    ("sgd_clipvalue", "O.SGD(learning_rate=0.1, clipvalue=0.5)"),
    ("sgd_weight_decay", "O.SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05)"),
    ("rmsprop_weight_decay", "O.RMSprop(learning_rate=0.01, weight_decay=0.1)"),
    ("sgd_exponential_decay", "O.SGD(learning_rate=S.ExponentialDecay(0.1, 2, 0.5, staircase=True))"),
    ("adamw_cosine_warmup", "O.AdamW(learning_rate=S.CosineDecay(0.001, 3, alpha=0.1, warmup_target=0.01, warmup_steps=2))"),
    ("adam_piecewise", "O.Adam(learning_rate=S.PiecewiseConstantDecay([1, 3], [0.01, 0.005, 0.001]))"),
]

SCHEDULES = [
    ("exponential", "S.ExponentialDecay(0.1, 3, 0.5)"),
    ("exponential_staircase", "S.ExponentialDecay(0.1, 3, 0.5, staircase=True)"),
    ("cosine", "S.CosineDecay(0.1, 10)"),
    ("cosine_alpha", "S.CosineDecay(0.1, 10, alpha=0.2)"),
    ("cosine_warmup", "S.CosineDecay(0.0, 8, alpha=0.1, warmup_target=0.1, warmup_steps=4)"),
    ("cosine_warmup_from", "S.CosineDecay(0.02, 6, warmup_target=0.2, warmup_steps=3)"),
    ("piecewise", "S.PiecewiseConstantDecay([3, 7], [0.1, 0.05, 0.01])"),
]


def f32(x):
    return np.array(x, dtype=np.float32, order="C")


def optimizer_case(name, source):
    """Runs STEPS updates of the Keras optimizer `source` and records every value."""
    opt = eval(source)
    inits = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    variables = [keras.Variable(v, name=f"var{j}") for j, v in enumerate(inits)]
    for j, v in enumerate(inits):
        tensors[f"{name}/var{j}/init"] = f32(v)
    for s in range(STEPS):
        grads = [(1.5 * rng.standard_normal(sh)).astype(np.float32) for sh in SHAPES]
        opt.apply_gradients(zip([tf.constant(g) for g in grads], variables))
        for j, (g, v) in enumerate(zip(grads, variables)):
            tensors[f"{name}/var{j}/grad{s}"] = f32(g)
            tensors[f"{name}/var{j}/step{s}"] = f32(v.numpy())
    assert int(opt.iterations.numpy()) == STEPS
    renamed = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat"} if isinstance(opt, O.Adam) else {}
    for slot in [v for v in opt.variables if v.name not in ("iteration", "learning_rate")]:
        var, _, keras_slot = slot.name.partition("_")
        tensors[f"{name}/{var}/slot/{renamed.get(keras_slot, keras_slot)}"] = f32(slot.numpy())
    metadata[name] = source


def schedule_case(name, source):
    """Records the schedule `source` at every step of SCHEDULE_STEPS."""
    schedule = eval(source)
    tensors[f"schedules/{name}"] = f32([float(schedule(np.int64(s))) for s in SCHEDULE_STEPS])
    metadata[f"schedules/{name}"] = source


def main():
    for name, source in OPTIMIZERS:
        optimizer_case(name, source)
    tensors["schedules/steps"] = f32(SCHEDULE_STEPS)
    for name, source in SCHEDULES:
        schedule_case(name, source)
    metadata["__keras_version__"] = keras.__version__
    metadata["__tensorflow_version__"] = tf.__version__
    save_file(tensors, OUT, metadata=metadata)
    print(f"{len(OPTIMIZERS)} optimizers, {len(SCHEDULES)} schedules, {len(tensors)} tensors -> {OUT}")


if __name__ == "__main__":
    main()
