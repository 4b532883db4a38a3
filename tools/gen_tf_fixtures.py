#!/usr/bin/env python3
"""Generates tests/fixtures/tf_ops.safetensors: small deterministic TensorFlow 2 reference cases.

Each case stores its operands as `<case>/x`, `<case>/w`, ... and TensorFlow's result as
`<case>/out` (float32; tf.nn.moments also stores `<case>/out_var`; gradient cases store the
upstream gradient `<case>/dy` and TensorFlow's input gradient `<case>/dx`). The safetensors
`__metadata__` maps each case name to a JSON string with the op and its options, read by
tests/tf_fixtures.rs. Padding is "VALID", "SAME" or [[top, bottom], [left, right]].

Usage: pip install tensorflow-cpu safetensors numpy; python3 tools/gen_tf_fixtures.py
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

OUT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tf_ops.safetensors"))
rng = np.random.RandomState(20261125)
tensors = {}
metadata = {}


def rand(*shape):
    """Fresh normal(0, 1) float32 values (never zeros)."""
    return rng.standard_normal(shape).astype(np.float32)


def add_case(name, meta, inputs, out, **extra):
    """Records one case: its operands, TensorFlow's output(s) and its options."""
    assert name not in metadata, name
    for key, value in inputs.items():
        tensors[f"{name}/{key}"] = np.array(value, dtype=np.float32, order="C")
    tensors[f"{name}/out"] = np.array(out, dtype=np.float32, order="C")
    for key, value in extra.items():
        tensors[f"{name}/{key}"] = np.array(value, dtype=np.float32, order="C")
    metadata[name] = json.dumps(meta, separators=(",", ":"))


def tf_padding(padding):
    """Our padding option as tf.nn takes it (explicit pads get the batch/channel zeros)."""
    if isinstance(padding, str):
        return padding
    return [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]


def conv_cases():
    specs = [
        ("conv2d_valid", (2, 7, 6, 3), (3, 2, 3, 4), [1, 1], [1, 1], "VALID"),
        ("conv2d_same", (2, 7, 6, 3), (3, 3, 3, 4), [1, 1], [1, 1], "SAME"),
        ("conv2d_explicit", (2, 7, 6, 3), (3, 2, 3, 4), [1, 1], [1, 1], [[1, 2], [0, 1]]),
        ("conv2d_same_stride2", (2, 7, 6, 3), (3, 3, 3, 5), [2, 2], [1, 1], "SAME"),
        ("conv2d_valid_stride2", (2, 9, 8, 3), (3, 2, 3, 4), [2, 2], [1, 1], "VALID"),
        ("conv2d_same_stride2x1", (2, 7, 6, 3), (2, 3, 3, 5), [2, 1], [1, 1], "SAME"),
        ("conv2d_explicit_stride2x1", (2, 7, 6, 3), (3, 2, 3, 4), [2, 1], [1, 1], [[1, 2], [0, 1]]),
        ("conv2d_valid_dilated", (2, 9, 8, 3), (3, 2, 3, 4), [1, 1], [2, 2], "VALID"),
        ("conv2d_same_dilated", (2, 7, 6, 3), (3, 3, 3, 4), [1, 1], [2, 2], "SAME"),
    ]
    for name, xs, ws, strides, dil, pad in specs:
        x, w = rand(*xs), rand(*ws)
        out = tf.nn.conv2d(x, w, strides=strides, padding=tf_padding(pad), dilations=dil)
        add_case(name, {"op": "conv2d", "strides": strides, "dilations": dil, "padding": pad}, {"x": x, "w": w}, out)


def depthwise_cases():
    specs = [
        ("depthwise_same_stride2", (2, 7, 6, 3), (3, 3, 3, 2), 2, "SAME"),
        ("depthwise_valid", (2, 7, 6, 3), (3, 2, 3, 2), 1, "VALID"),
        ("depthwise_same", (2, 7, 6, 3), (2, 3, 3, 1), 1, "SAME"),
    ]
    for name, xs, ws, s, pad in specs:
        x, w = rand(*xs), rand(*ws)
        out = tf.nn.depthwise_conv2d(x, w, strides=[1, s, s, 1], padding=pad)
        meta = {"op": "depthwise_conv2d", "strides": [s, s], "dilations": [1, 1], "padding": pad}
        add_case(name, meta, {"x": x, "w": w}, out)


def separable_cases():
    for name, s, pad in [("separable_same", 1, "SAME"), ("separable_valid_stride2", 2, "VALID")]:
        x, dw, pw, b = rand(2, 7, 6, 3), rand(3, 3, 3, 2), rand(1, 1, 6, 4), rand(4)
        out = tf.nn.separable_conv2d(x, dw, pw, strides=[1, s, s, 1], padding=pad) + b
        meta = {"op": "separable_conv2d", "strides": [s, s], "dilations": [1, 1], "padding": pad}
        add_case(name, meta, {"x": x, "w": dw, "pw": pw, "b": b}, out)


def transpose_cases():
    # VALID accepts o in [(i-1)s+k, (i-1)s+k+s-1]; SAME accepts o in [(i-1)s+1, i*s].
    specs = [
        ("conv2d_transpose_valid_s2", (2, 3, 4, 5), (3, 3, 4, 5), (2, 8, 9, 4), "VALID"),  # 8 + 0 - 3 = 5: odd
        ("conv2d_transpose_valid_s2_min", (2, 3, 4, 5), (3, 2, 4, 5), (2, 7, 8, 4), "VALID"),
        ("conv2d_transpose_same_s2", (2, 3, 4, 5), (3, 3, 4, 5), (2, 5, 8, 4), "SAME"),  # 5 = (i-1)s+1
        ("conv2d_transpose_same_s2_even", (2, 3, 4, 5), (2, 3, 4, 5), (2, 6, 7, 4), "SAME"),
    ]
    for name, xs, ws, os_, pad in specs:
        x, w = rand(*xs), rand(*ws)
        out = tf.nn.conv2d_transpose(x, w, output_shape=list(os_), strides=[1, 2, 2, 1], padding=pad)
        meta = {"op": "conv2d_transpose", "strides": [2, 2], "dilations": [1, 1], "padding": pad,
                "output_shape": list(os_)}
        add_case(name, meta, {"x": x, "w": w}, out)


def pool_cases():
    for op, fn in [("max_pool2d", tf.nn.max_pool2d), ("avg_pool2d", tf.nn.avg_pool2d)]:
        for pad, xs in [("VALID", (2, 9, 8, 3)), ("SAME", (2, 7, 6, 3))]:
            x = rand(*xs)
            out = fn(x, ksize=3, strides=2, padding=pad)
            meta = {"op": op, "ksize": [3, 3], "strides": [2, 2], "padding": pad}
            add_case(f"{op}_{pad.lower()}_3x3_s2", meta, {"x": x}, out)
        x = rand(2, 7, 6, 3)
        out = fn(x, ksize=[2, 3], strides=[1, 2], padding="SAME")
        add_case(f"{op}_same_2x3_s1x2", {"op": op, "ksize": [2, 3], "strides": [1, 2], "padding": "SAME"},
                 {"x": x}, out)
    x = rand(2, 5, 7, 3)
    add_case("global_avg_pool2d", {"op": "global_avg_pool2d"}, {"x": x}, tf.reduce_mean(x, axis=[1, 2]))
    x = rand(2, 5, 7, 3)
    add_case("global_max_pool2d", {"op": "global_max_pool2d"}, {"x": x}, tf.reduce_max(x, axis=[1, 2]))


def norm_and_resize_cases():
    x = rand(2, 3, 4, 3)
    out = tf.keras.layers.UpSampling2D(size=(2, 3))(x)
    add_case("upsample_2x3", {"op": "upsample_nearest2d", "size": [2, 3]}, {"x": x}, out)
    x = rand(2, 5, 7, 3) * 2.0 + 1.0
    mean, var = tf.nn.moments(x, axes=[0, 1, 2])
    add_case("moments_012", {"op": "moments", "axes": [0, 1, 2], "keepdims": False}, {"x": x}, mean, out_var=var)
    x = rand(2, 5, 7, 3)
    m, v, off, sc = rand(3), np.abs(rand(3)) + 0.5, rand(3), rand(3)
    out = tf.nn.batch_normalization(x, m, v, off, sc, variance_epsilon=1e-3)
    add_case("batch_normalization", {"op": "batch_normalization", "eps": 1e-3},
             {"x": x, "mean": m, "var": v, "offset": off, "scale": sc}, out)


def dense_cases():
    a, b = rand(5, 7), rand(7, 3)
    add_case("matmul", {"op": "matmul"}, {"x": a, "w": b}, tf.matmul(a, b))
    a, b = rand(2, 5, 7), rand(2, 7, 3)
    add_case("matmul_batched", {"op": "matmul"}, {"x": a, "w": b}, tf.matmul(a, b))
    x = rand(2, 5, 7) * 3.0
    add_case("softmax", {"op": "softmax"}, {"x": x}, tf.nn.softmax(x))
    x = rand(2, 5, 7) * 3.0
    add_case("log_softmax", {"op": "log_softmax"}, {"x": x}, tf.nn.log_softmax(x))
    for op, fn in [("relu", tf.nn.relu), ("sigmoid", tf.nn.sigmoid), ("tanh", tf.nn.tanh)]:
        x = rand(2, 5, 7)
        add_case(op, {"op": op}, {"x": x}, fn(x))
    x, y = rand(2, 5, 1, 3), rand(4, 1)
    add_case("add_broadcast", {"op": "add"}, {"x": x, "y": y}, tf.add(x, y))
    x, y = rand(2, 1, 3), rand(5, 1)
    add_case("mul_broadcast", {"op": "mul"}, {"x": x, "y": y}, tf.multiply(x, y))


def reduce_cases():
    specs = [
        ("reduce_sum", tf.reduce_sum, [1], False),
        ("reduce_sum", tf.reduce_sum, None, False),
        ("reduce_mean", tf.reduce_mean, [0, 2], True),
        ("reduce_mean", tf.reduce_mean, [1, 3], False),
        ("reduce_max", tf.reduce_max, [3], False),
        ("reduce_max", tf.reduce_max, [0, 1, 2], True),
    ]
    for i, (op, fn, axes, keep) in enumerate(specs):
        x = rand(2, 5, 7, 3)
        add_case(f"{op}_{i}", {"op": op, "axes": axes, "keepdims": keep}, {"x": x},
                 fn(x, axis=axes, keepdims=keep))
    for axis in [1, 2]:
        x = rand(2, 5, 7)
        out = tf.cast(tf.math.argmax(x, axis=axis), tf.float32)
        add_case(f"argmax_axis{axis}", {"op": "argmax", "axis": axis}, {"x": x}, out)
    x, y, z = rand(2, 3, 4, 2), rand(2, 3, 4, 5), rand(2, 3, 4, 1)
    add_case("concat_channels", {"op": "concat", "axis": 3}, {"x": x, "y": y, "z": z}, tf.concat([x, y, z], 3))
    x, y = rand(2, 3, 4), rand(2, 2, 4)
    add_case("concat_axis1", {"op": "concat", "axis": 1}, {"x": x, "y": y}, tf.concat([x, y], 1))


def add_grad_case(name, meta, x, fn):
    """Records `fn(x)` and, with a random upstream gradient `dy`, TensorFlow's input gradient
    `dx` of sum(fn(x) * dy)."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
    dy = rand(*out.shape)
    dx = tape.gradient(out, x, output_gradients=tf.constant(dy))
    add_case(name, meta, {"x": x.numpy(), "dy": dy}, out, dx=dx)


def act_input(*shape):
    """Normal values times 4 with the kinks (0, +-1, 2, 3.5, 6) written in, so the fixtures
    pin TensorFlow's gradient choices at them."""
    x = rand(*shape) * 4.0
    flat = x.reshape(-1)
    flat[:8] = [0.0, 6.0, 1.0, -1.0, 2.0, 3.5, 1e-3, -1e-3]
    return x


def act_cases():
    add_grad_case("relu6", {"op": "relu6"}, act_input(2, 5, 7), tf.nn.relu6)
    for alpha in [0.2, 1.5]:
        add_grad_case(f"leaky_relu_{alpha}", {"op": "leaky_relu", "alpha": alpha}, act_input(2, 5, 7),
                      lambda x, a=alpha: tf.nn.leaky_relu(x, alpha=a))
    add_grad_case("elu", {"op": "elu", "alpha": 1.0}, act_input(2, 5, 7), tf.nn.elu)
    add_grad_case("elu_0.5", {"op": "elu", "alpha": 0.5}, act_input(2, 5, 7),
                  lambda x: keras.activations.elu(x, alpha=0.5))
    specs = [(6.0, 0.0, 0.0), (6.0, 0.1, 0.0), (None, 0.3, 0.0), (None, 0.0, 1.0), (None, 0.3, 2.0),
             (3.5, 0.2, 1.0), (2.0, 0.0, 0.0), (6.0, 0.0, 1.0)]
    for i, (mx, slope, t) in enumerate(specs):
        meta = {"op": "keras_relu", "max_value": mx, "negative_slope": slope, "threshold": t}
        add_grad_case(f"keras_relu_{i}", meta, act_input(2, 5, 7),
                      lambda x, m=mx, s=slope, th=t: keras.activations.relu(
                          x, negative_slope=s, max_value=m, threshold=th))


def pad_cases():
    for i, (shape, p) in enumerate([((2, 5, 6, 3), [[1, 2], [3, 0]]), ((1, 4, 3, 2), [[0, 0], [2, 1]])]):
        add_grad_case(f"pad2d_{i}", {"op": "pad2d", "pads": p}, rand(*shape),
                      lambda x, p=p: tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]))
    for i, (shape, c) in enumerate([((2, 7, 6, 3), [[1, 2], [3, 0]]), ((1, 4, 5, 2), [[0, 3], [2, 2]])]):
        add_grad_case(f"crop2d_{i}", {"op": "crop2d", "crops": c}, rand(*shape),
                      lambda x, c=c: keras.layers.Cropping2D(cropping=c)(x))


def norm_layer_cases():
    """Keras normalization layers called with training=True: the output and, by tf.GradientTape,
    the gradients of sum(y * dy) (a fixed random dy) with respect to x, gamma and beta;
    BatchNormalization also stores its moving statistics after the call."""
    shape = (3, 5, 7, 6)
    specs = [
        ("layer_norm_axis_last", "LayerNormalization", {"axis": [-1]}),
        ("layer_norm_axes_123", "LayerNormalization", {"axis": [1, 2, 3]}),
        ("layer_norm_no_center", "LayerNormalization", {"axis": [-1], "center": False}),
        ("group_norm_groups1", "GroupNormalization", {"groups": 1}),
        ("group_norm_groups3", "GroupNormalization", {"groups": 3}),
        ("group_norm_groups6", "GroupNormalization", {"groups": 6}),
        ("batch_norm_axis1", "BatchNormalization", {"axis": 1}),
        ("batch_norm_no_center", "BatchNormalization", {"center": False}),
        ("batch_norm_no_scale", "BatchNormalization", {"scale": False}),
        ("layer_norm_axes_12", "LayerNormalization", {"axis": [1, 2]}),
    ]
    for name, kind, opts in specs:
        layer = getattr(tf.keras.layers, kind)(epsilon=1e-3, **opts)
        layer.build(shape)
        params = {}
        for v in (layer.gamma, layer.beta):
            if v is not None:
                value = rand(*v.shape)
                value = 1.0 + 0.5 * value if v is layer.gamma else value
                v.assign(value)
                params[v.name] = v
        x, dy = tf.constant(rand(*shape) * 2.0 + 0.5), rand(*shape)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * dy)
        grads = tape.gradient(loss, [x] + list(params.values()))
        inputs = {"x": x, "dy": dy}
        inputs.update({k: v.numpy() for k, v in params.items()})
        extra = {"grad_x": grads[0]}
        extra.update({f"grad_{k}": g for k, g in zip(params, grads[1:])})
        if kind == "BatchNormalization":
            extra.update(moving_mean=layer.moving_mean.numpy(), moving_variance=layer.moving_variance.numpy())
        meta = {"op": kind, "epsilon": 1e-3, "center": opts.get("center", True), "scale": opts.get("scale", True)}
        meta.update({k: v for k, v in opts.items() if k in ("axis", "groups")})
        add_case(name, meta, inputs, y, **extra)


def training_cases():
    """Keras losses and metrics as compile/fit uses them: x is y_pred, y is y_true."""
    import keras
    losses = keras.losses
    metrics = keras.metrics

    def keras_value(fn, y, x):
        return np.array(fn(tf.constant(y), tf.constant(x)), dtype=np.float32)

    # Binary cross-entropy from logits (large logits included) and from probabilities (exact 0
    # and 1 included, which Keras clips to [1e-7, 1 - 1e-7]); soft labels too.
    x = rand(5, 3) * 4.0
    x[0, 0], x[1, 1] = 40.0, -40.0
    y = (rng.uniform(size=(5, 3)) > 0.5).astype(np.float32)
    y[4] = [0.25, 0.5, 0.9]
    add_case("bce_logits", {"op": "binary_crossentropy", "from_logits": True}, {"x": x, "y": y},
             keras_value(losses.BinaryCrossentropy(from_logits=True), y, x))
    add_case("sigmoid_xent", {"op": "sigmoid_cross_entropy_with_logits"}, {"x": x, "y": y},
             tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x))
    p = tf.nn.sigmoid(rand(4, 6) * 2.0).numpy()
    p[0, 0], p[1, 1], p[2, 2] = 0.0, 1.0, 1e-9
    y = (rng.uniform(size=(4, 6)) > 0.5).astype(np.float32)
    y[0, 0], y[1, 1] = 1.0, 0.0
    add_case("bce_probs", {"op": "binary_crossentropy", "from_logits": False}, {"x": p, "y": y},
             keras_value(losses.BinaryCrossentropy(), y, p))
    # Categorical / sparse categorical cross-entropy from probabilities: rows that do not sum
    # to 1 (Keras renormalises the categorical ones) and a zero probability (clipped).
    p = rng.uniform(0.05, 1.0, size=(5, 4)).astype(np.float32)
    p[0, 2] = 0.0
    ids = np.array([2, 0, 3, 1, 3], dtype=np.float32)
    onehot = np.eye(4, dtype=np.float32)[ids.astype(int)]
    onehot[4] = [0.1, 0.2, 0.3, 0.4]
    add_case("cce_probs", {"op": "categorical_crossentropy", "from_logits": False}, {"x": p, "y": onehot},
             keras_value(losses.CategoricalCrossentropy(), onehot, p))
    probs = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    add_case("scce_probs", {"op": "sparse_categorical_crossentropy", "from_logits": False},
             {"x": probs, "y": ids}, keras_value(losses.SparseCategoricalCrossentropy(), ids, probs))
    add_case("scce_logits", {"op": "sparse_categorical_crossentropy", "from_logits": True},
             {"x": p * 3.0, "y": ids},
             keras_value(losses.SparseCategoricalCrossentropy(from_logits=True), ids, p * 3.0))
    # Top-k accuracy with ties at the boundary (integer scores), TensorFlow's in_top_k rule.
    scores = np.round(rand(12, 6) * 1.5).astype(np.float32)
    ids = rng.randint(0, 6, size=12).astype(np.float32)
    for k in [1, 2, 3, 5]:
        m = metrics.SparseTopKCategoricalAccuracy(k=k)
        m.update_state(ids, scores)
        add_case(f"sparse_top_{k}", {"op": "sparse_top_k_categorical_accuracy", "k": k},
                 {"x": scores, "y": ids}, np.float32(m.result()))
        m = metrics.TopKCategoricalAccuracy(k=k)
        hot = np.eye(6, dtype=np.float32)[ids.astype(int)]
        m.update_state(hot, scores)
        add_case(f"top_{k}", {"op": "top_k_categorical_accuracy", "k": k}, {"x": scores, "y": hot},
                 np.float32(m.result()))
    m = metrics.BinaryAccuracy()
    bp = rng.uniform(size=(6, 3)).astype(np.float32)
    bp[0, 0] = 0.5
    by = (rng.uniform(size=(6, 3)) > 0.5).astype(np.float32)
    m.update_state(by, bp)
    add_case("binary_accuracy", {"op": "binary_accuracy"}, {"x": bp, "y": by}, np.float32(m.result()))
    m = metrics.CategoricalAccuracy()
    m.update_state(hot, scores)
    add_case("categorical_accuracy", {"op": "categorical_accuracy"}, {"x": scores, "y": hot}, np.float32(m.result()))


def fit_cases():
    """Keras fit end to end: Dense(5, relu) → Dense(3) logits from fixed weights, 3 epochs of
    batch 4 over 10 rows (a partial last batch), no shuffling, validation data. `out` is the
    History as rows [accuracy, loss, val_accuracy, val_loss] × epochs; `kernel_after` the last
    layer's kernel after training."""
    import keras
    for name, make_opt in [("sgd", lambda: keras.optimizers.SGD(0.1)), ("adam", lambda: keras.optimizers.Adam(0.01))]:
        x, vx = rand(10, 4), rand(6, 4)
        y = rng.randint(0, 3, size=10).astype(np.float32)
        vy = rng.randint(0, 3, size=6).astype(np.float32)
        k1, b1, k2, b2 = rand(4, 5) * 0.5, rand(5) * 0.1, rand(5, 3) * 0.5, rand(3) * 0.1
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
        model.set_weights([k1, b1, k2, b2])
        model.compile(optimizer=make_opt(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        h = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, validation_data=(vx, vy), verbose=0)
        hist = np.array([h.history[k] for k in ["accuracy", "loss", "val_accuracy", "val_loss"]], dtype=np.float32)
        add_case(f"fit_{name}", {"op": "fit", "optimizer": name},
                 {"x": x, "y": y, "vx": vx, "vy": vy, "k1": k1, "b1": b1, "k2": k2, "b2": b2}, hist,
                 kernel_after=model.get_weights()[2])


def grouped_conv2d(x, w, strides, dil, pad):
    """Grouped conv2d as the concat of per-group convs (TF 2.21 has no CPU gradient for the
    grouped op, nor for dilation > 1: dilated cases go through tf.nn.convolution, stride 1)."""
    groups = x.shape[-1] // w.shape[2]
    xs, ws = tf.split(x, groups, axis=3), tf.split(w, groups, axis=3)
    if dil != [1, 1]:
        assert strides == [1, 1] and isinstance(pad, str), "dilated fixture cases use stride 1"
        outs = [tf.nn.convolution(a, b, padding=pad, dilations=dil) for a, b in zip(xs, ws)]
    else:
        outs = [tf.nn.conv2d(a, b, strides=strides, padding=tf_padding(pad)) for a, b in zip(xs, ws)]
    return tf.concat(outs, axis=3)


def with_grads(fn, inputs, dy):
    """fn(*inputs) and the gradients of sum(fn(*inputs) * dy) with respect to each input."""
    ts = [tf.constant(v) for v in inputs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        out = fn(*ts)
        loss = tf.reduce_sum(out * dy)
    return out, tape.gradient(loss, ts)


def grouped_conv_cases():
    """Grouped tf.nn.conv2d forward (TF's own grouped op) and, through the per-group split,
    the input and filter gradients of sum(out * dy), stored as dx / dw."""
    specs = [
        ("grouped_conv2d_g2_valid", (2, 7, 6, 6), (3, 2, 3, 4), [1, 1], [1, 1], "VALID"),
        ("grouped_conv2d_g3_same_s2", (2, 7, 6, 6), (3, 3, 2, 6), [2, 2], [1, 1], "SAME"),
        ("grouped_conv2d_gcin_explicit_s1x2", (2, 6, 5, 4), (2, 3, 1, 8), [1, 2], [1, 1], [[1, 0], [2, 1]]),
        ("grouped_conv2d_g4_same_dilated", (2, 7, 6, 8), (3, 2, 2, 8), [1, 1], [2, 2], "SAME"),
    ]
    for name, xs, ws, strides, dil, pad in specs:
        x, w = rand(*xs), rand(*ws)
        out = tf.nn.conv2d(x, w, strides=strides, padding=tf_padding(pad), dilations=dil)
        dy = rand(*out.shape)
        split_out, (dx, dw) = with_grads(lambda a, b: grouped_conv2d(a, b, strides, dil, pad), [x, w], dy)
        np.testing.assert_allclose(split_out, out, rtol=1e-5, atol=1e-5)
        meta = {"op": "conv2d", "strides": strides, "dilations": dil, "padding": pad}
        add_case(name, meta, {"x": x, "w": w}, out, dy=dy, dx=dx, dw=dw)


def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle: reshape, swap the group axes, reshape back."""
    n, h, w, c = x.shape
    return tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, groups, c // groups]), [0, 1, 2, 4, 3]), [n, h, w, c])


def shuffle_and_bilinear_cases():
    """Channel shuffle, and tf.image.resize(method='bilinear') up and down (Keras
    UpSampling2D(interpolation='bilinear') too), each with the input gradient dx of sum(out * dy)."""
    for groups, xs in [(2, (2, 3, 4, 6)), (3, (2, 2, 3, 12))]:
        x = rand(*xs)
        dy = rand(*xs)
        out, (dx,) = with_grads(lambda a: channel_shuffle(a, groups), [x], dy)
        add_case(f"channel_shuffle_g{groups}", {"op": "channel_shuffle", "groups": groups}, {"x": x}, out, dy=dy, dx=dx)
    specs = [
        ("resize_bilinear_up2", (2, 3, 4, 3), [6, 8]),
        ("resize_bilinear_up3", (2, 3, 4, 3), [9, 12]),
        ("resize_bilinear_up2x3", (2, 3, 4, 3), [6, 12]),
        ("resize_bilinear_down", (2, 9, 8, 3), [4, 3]),
        ("resize_bilinear_mixed", (1, 5, 7, 2), [8, 3]),
    ]
    for name, xs, size in specs:
        x = rand(*xs)
        dy = rand(xs[0], size[0], size[1], xs[3])
        resize = lambda a: tf.image.resize(a, size, method="bilinear", antialias=False)  # noqa: E731
        out, (dx,) = with_grads(resize, [x], dy)
        add_case(name, {"op": "resize_bilinear", "size": size}, {"x": x}, out, dy=dy, dx=dx)
    x = rand(2, 3, 4, 3)
    out = tf.keras.layers.UpSampling2D(size=(2, 3), interpolation="bilinear")(x)
    add_case("upsampling2d_bilinear_2x3", {"op": "resize_bilinear", "size": [6, 12]}, {"x": x}, out)


def main():
    for gen in [conv_cases, depthwise_cases, separable_cases, transpose_cases, pool_cases,
                norm_and_resize_cases, dense_cases, reduce_cases, act_cases, pad_cases, norm_layer_cases,
                training_cases, fit_cases, grouped_conv_cases, shuffle_and_bilinear_cases]:
        gen()
    metadata["__tensorflow_version__"] = tf.__version__
    save_file(tensors, OUT, metadata=metadata)
    print(f"{len(metadata) - 1} cases, {len(tensors)} tensors, {os.path.getsize(OUT)} bytes -> {OUT}")


if __name__ == "__main__":
    main()
