"""The seed notebook's TensorFlow and Keras CIFAR-10 cells, as written there (typos mended),
run on real images; ``tests/test_seed_cifar10.py`` runs each in its own process.

    python tests/seed_framework_cells.py tf|keras DATA_DIR [ACCEPT_SHA256]

Prints one JSON line: the validation accuracy after each of the 10 epochs. Own processes,
because the TensorFlow cell calls ``tf.disable_eager_execution()``, which holds for the whole
process and would break every eager TensorFlow and Keras test after it.

- ``tf``: ``tf.compat.v1`` graph, two sigmoid layers of 100 with weights and biases from
  ``tf.random_normal`` (standard deviation 1), Adam at 1e-3, batch 100 in order, 10 epochs, on
  ``get_CIFAR10_data()`` flattened (the seed printed 0.311 validation accuracy at epoch 10);
- ``keras``: ``Sequential`` of Flatten(32, 32, 3) (the seed reshapes the channels-first images
  to that shape as they are), Dense(100, sigmoid), Dropout(0.25), Dense(100, sigmoid),
  Dense(10, softmax), Adam at 1e-4, batch 32, 10 epochs (the seed: 0.380).

Seeded (the seed was not), on one thread per TensorFlow pool.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

EPOCHS = 10
NUM_CLASSES = 10


def _data(data_dir: str, accept: str | None) -> dict[str, np.ndarray]:
    from layerwise.data import get_CIFAR10_data
    from layerwise.data.checksum import UnofficialDataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnofficialDataWarning)
        return get_CIFAR10_data(data_dir=data_dir, accept_sha256=accept)


def _one_hot(y: np.ndarray) -> np.ndarray:
    out = np.zeros((len(y), NUM_CLASSES))
    out[np.arange(len(y)), y.astype(int)] = 1
    return out


def tf_cell(data_dict: dict[str, np.ndarray]) -> list[float]:
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    tf.set_random_seed(0)
    learning_rate, batch_size, input_dim = 1e-3, 100, 32 * 32 * 3
    x = tf.placeholder(tf.float32, [None, input_dim])
    y = tf.placeholder(tf.float32, [None, NUM_CLASSES])
    previous_dim, layer_output = input_dim, x
    for hidden in (100, 100):
        h = tf.Variable(tf.random_normal([previous_dim, hidden]), dtype=tf.float32)
        bias = tf.Variable(tf.random_normal([hidden]), dtype=tf.float32)
        previous_dim = hidden
        layer_output = tf.nn.sigmoid(tf.add(tf.matmul(layer_output, h), bias))
    output = tf.Variable(tf.random_normal([previous_dim, NUM_CLASSES]))
    bias_output = tf.Variable(tf.random_normal([NUM_CLASSES]))
    output_layer = tf.matmul(layer_output, output) + bias_output
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=output_layer, labels=y))
    correct = tf.equal(tf.argmax(output_layer, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    optimizer = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(cost)

    X_train = data_dict["X_train"].reshape(len(data_dict["X_train"]), -1)
    y_train = _one_hot(data_dict["y_train"])
    X_val = data_dict["X_val"].reshape(len(data_dict["X_val"]), -1)
    y_val = _one_hot(data_dict["y_val"])
    history = []
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        total_batch = len(X_train) // batch_size
        for _ in range(EPOCHS):
            for i in range(1, total_batch + 1):
                stop = batch_size * i if i < total_batch else None  # the last takes the rest
                feed = {
                    x: X_train[batch_size * (i - 1) : stop],
                    y: y_train[batch_size * (i - 1) : stop],
                }
                sess.run(optimizer, feed_dict=feed)
            history.append(float(sess.run(accuracy, feed_dict={x: X_val, y: y_val})))
    return history


def keras_cell(data_dict: dict[str, np.ndarray]) -> list[float]:
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(100, activation="sigmoid"),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(100, activation="sigmoid"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.Adam(0.0001),
        metrics=["accuracy"],
    )
    X_train = data_dict["X_train"].reshape(len(data_dict["X_train"]), 32, 32, 3)
    X_val = data_dict["X_val"].reshape(len(data_dict["X_val"]), 32, 32, 3)
    hist = model.fit(
        X_train,
        _one_hot(data_dict["y_train"]),
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(X_val, _one_hot(data_dict["y_val"])),
        verbose=0,
    )
    return [float(a) for a in hist.history["val_accuracy"]]


def main() -> None:
    cell, data_dir = sys.argv[1], sys.argv[2]
    accept = sys.argv[3] if len(sys.argv) > 3 else None
    data = _data(data_dir, accept)
    history = {"tf": tf_cell, "keras": keras_cell}[cell](data)
    print(json.dumps({"cell": cell, "val_acc": history}))


if __name__ == "__main__":
    main()
