"""The seed notebook's final Keras MNIST run, as the seed wrote it, for comparison with
``layerwise train --engine keras``.

    python examples/seed_keras_mnist.py --data-dir DIR --seed 0

Three Dense(512) + relu + Dropout(0.2) layers, softmax, ``categorical_crossentropy``,
``optimizer='adam'``, ``fit`` on all 60,000 training images (batch 128, 5 epochs, shuffled), then
the test accuracy: the run for which the seed printed ``test accuracy: 0.9800999760627747``.
Only the data loading differs (layerwise's IDX reader instead of ``keras.datasets.mnist``, which
downloads) and the seed (``keras.utils.set_random_seed``). Needs the ``[tf]`` extra.
"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder of the MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras.layers import Activation, Dense, Dropout, Input

    from layerwise.data import load_mnist

    X_train, y_train, X_test, y_test = load_mnist(args.data_dir)
    X_train = X_train.reshape(60000, 784).astype("float32") / 255
    X_test = X_test.reshape(10000, 784).astype("float32") / 255
    Y_train = keras.utils.to_categorical(y_train, 10)
    Y_test = keras.utils.to_categorical(y_test, 10)

    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([Input((784,))])
    for _ in range(3):
        model.add(Dense(512))
        model.add(Activation("relu"))
        model.add(Dropout(0.2))
    model.add(Dense(10))
    model.add(Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(X_train, Y_train, batch_size=128, epochs=5, verbose=0)
    score = model.evaluate(X_test, Y_test, verbose=0)
    print(f"seed {args.seed}: test accuracy {score[1]:.4f}")


if __name__ == "__main__":
    main()
