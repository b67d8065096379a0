# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Multi-layer neural nets with layerwise
#
# The seed notebook's walkthrough, done with the library: every layer is a forward/backward
# pair checked against numeric gradients; the two- and three-layer networks reproduce the
# seed's exact values; a `Solver` trains them; a `FullyConnectedNet` plays the seed's Keras
# MLP (784-512-512-512-10 with dropout 0.2 and Adam); and the figures show what was learned:
# curves, cost per epoch, correctly and wrongly classified test images, first-layer weights
# and a confusion matrix.
#
# **Settings** (environment variables, so the same notebook runs in the test suite):
#
# - `LAYERWISE_NOTEBOOK_DATASET`: `digits` (default; 8x8 images shipped with scikit-learn,
#   no download), `mnist` or `cifar10`;
# - `LAYERWISE_NOTEBOOK_DATA_DIR`: the folder holding the MNIST or CIFAR-10 files;
# - `LAYERWISE_NOTEBOOK_QUICK`: `1` (default) trains briefly on subsets so the whole notebook
#   runs in well under two minutes; `0` trains the full recipes.
#
# This file is paired with `multilayer_nets.ipynb` by [jupytext](https://jupytext.readthedocs.io):
# edit either and run `jupytext --sync examples/multilayer_nets.ipynb`.

# %%
# %matplotlib inline
import importlib
import os
import time

import numpy as np

# layerwise's layers, losses, update rules and networks by their modules: the bare names
# (affine_forward, ..., TwoLayerNet) are the ones you write in the next section.
from layerwise import layer_utils, layers, losses, models, optim
from layerwise.data import load_dataset
from layerwise.data.cifar10 import CLASSES as CIFAR10_CLASSES
from layerwise.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from layerwise.models import FullyConnectedNet
from layerwise.plots import (
    plot_confusion_matrix,
    plot_cost_per_epoch,
    plot_first_layer_weights,
    plot_predictions,
    plot_training,
)
from layerwise.solver import Solver

# The settings: the dataset, where its files are, and quick mode.
DATASET = os.environ.get("LAYERWISE_NOTEBOOK_DATASET", "digits")
DATA_DIR = os.environ.get("LAYERWISE_NOTEBOOK_DATA_DIR")
QUICK = os.environ.get("LAYERWISE_NOTEBOOK_QUICK", "1") == "1"
print(f"dataset {DATASET}, data folder {DATA_DIR or '(default)'}, quick mode {QUICK}")

NOTEBOOK_START = time.perf_counter()
# The seed's cells draw their random test inputs from NumPy's global stream; fixing it makes
# every printed error below the same on each run.
np.random.seed(0)

# %% [markdown]
# ## Write your own layers
#
# The exercise behind this notebook is to write the layers, the two losses, the update rule
# and the two networks yourself, in plain NumPy. The cells below hold reference answers:
# every function body sits between nbgrader's markers, `### BEGIN SOLUTION` and
# `### END SOLUTION`. An instructor turns this notebook into the student's version (each
# marked body replaced by `raise NotImplementedError`, every output cleared) and grades what
# comes back:
#
# ```bash
# layerwise assignment build examples/multilayer_nets.ipynb student.ipynb
# layerwise check student.ipynb
# ```
#
# Your functions and classes keep the exercise's names (`affine_forward`, ..., `TwoLayerNet`),
# which are what `layerwise check` grades. The rest of the notebook uses layerwise's own
# versions through their modules (`layers.affine_forward`, `models.TwoLayerNet`, ...), so it
# runs whether or not yours are written yet. The cell after the definitions compares each of
# yours with layerwise's on random inputs.


# %%
def affine_forward(x, theta, theta0):
    """Affine layer: each example flattened to a row, times theta, plus theta0.

    x: (m, d_1, ..., d_k); theta: (d, h) with d = d_1 * ... * d_k; theta0: (h,).
    Returns out (m, h) and cache (x, theta, theta0).
    """
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], -1) @ theta + theta0
    return out, (x, theta, theta0)
    ### END SOLUTION


def affine_backward(dout, cache):
    """Backward pass of affine_forward.

    dout: (m, h), the upstream gradient; cache: (x, theta, theta0) from affine_forward.
    Returns dx (m, d_1, ..., d_k), dtheta (d, h) and dtheta0 (h,).
    """
    ### BEGIN SOLUTION
    x, theta, _ = cache
    dx = (dout @ theta.T).reshape(x.shape)
    dtheta = x.reshape(x.shape[0], -1).T @ dout
    dtheta0 = dout.sum(axis=0)
    return dx, dtheta, dtheta0
    ### END SOLUTION


# %%
def relu_forward(x):
    """ReLU, max(x, 0), element by element. x: any shape.

    Returns out (shaped like x) and cache x.
    """
    ### BEGIN SOLUTION
    return np.maximum(x, 0), x
    ### END SOLUTION


def relu_backward(dout, cache):
    """Backward pass of relu_forward. dout and cache (the input x): the same shape.

    Returns dx, shaped like x (the gradient is taken as 0 where x is exactly 0).
    """
    ### BEGIN SOLUTION
    return dout * (cache > 0)
    ### END SOLUTION


def affine_relu_forward(x, theta, theta0):
    """An affine layer followed by a ReLU.

    x: (m, d_1, ..., d_k); theta: (d, h); theta0: (h,).
    Returns out (m, h) and cache (the affine layer's cache, the ReLU's cache).
    """
    ### BEGIN SOLUTION
    a, affine_cache = affine_forward(x, theta, theta0)
    out, relu_cache = relu_forward(a)
    return out, (affine_cache, relu_cache)
    ### END SOLUTION


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward. dout: (m, h); cache from the forward pass.

    Returns dx (m, d_1, ..., d_k), dtheta (d, h) and dtheta0 (h,).
    """
    ### BEGIN SOLUTION
    affine_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), affine_cache)
    ### END SOLUTION


# %%
def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, the mean over the batch.

    x: (m, C) class scores; y: (m,) integer labels with 0 <= y[i] < C.
    Returns loss (a float) and dx (m, C), the gradient of the loss with respect to x.
    """
    ### BEGIN SOLUTION
    m = x.shape[0]
    rows = np.arange(m)
    shifted = x - x.max(axis=1, keepdims=True)  # exp of at most 0: it never overflows
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / m
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    return float(loss), dx / m
    ### END SOLUTION


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, the mean over the batch.

    Per example, the sum over j != y_i of max(0, x[i, j] - x[i, y_i] + 1).
    x: (m, C) class scores; y: (m,) integer labels with 0 <= y[i] < C.
    Returns loss (a float) and dx (m, C).
    """
    ### BEGIN SOLUTION
    m = x.shape[0]
    rows = np.arange(m)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] -= dx.sum(axis=1)
    return float(margins.sum() / m), dx / m
    ### END SOLUTION


# %%
def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w - learning_rate * dw.

    w, dw: arrays of one shape; config: None or a dict with learning_rate (default 1e-2).
    Returns the new w (updated in place) and config.
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config
    ### END SOLUTION


# %%
class TwoLayerNet:
    """affine - ReLU - affine - softmax, with L2 regularisation of the weights.

    self.params: theta1 (d, h), theta1_0 (h,), theta2 (h, C), theta2_0 (C,).
    """

    def __init__(
        self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0
    ):
        """Weights weight_scale * np.random.randn(...) in layer order, biases zero."""
        ### BEGIN SOLUTION
        self.reg = reg
        self.params = {
            "theta1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "theta1_0": np.zeros(hidden_dim),
            "theta2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "theta2_0": np.zeros(num_classes),
        }
        ### END SOLUTION

    def loss(self, X, y=None):
        """X: (m, d_1, ..., d_k); y: None or (m,) integer labels.

        Returns the scores (m, C) when y is None, else (loss, grads): the softmax loss plus
        0.5 * reg * the sum of the squared weights, and grads keyed like self.params.
        """
        ### BEGIN SOLUTION
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["theta1"], p["theta1_0"])
        scores, scores_cache = affine_forward(hidden, p["theta2"], p["theta2_0"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(p["theta1"] ** 2) + np.sum(p["theta2"] ** 2))
        grads = {}
        dhidden, grads["theta2"], grads["theta2_0"] = affine_backward(dscores, scores_cache)
        _, grads["theta1"], grads["theta1_0"] = affine_relu_backward(dhidden, hidden_cache)
        grads["theta1"] += self.reg * p["theta1"]
        grads["theta2"] += self.reg * p["theta2"]
        return loss, grads
        ### END SOLUTION


# %%
class ThreeLayerNet:
    """affine - ReLU - affine - ReLU - affine - softmax, with L2 regularisation.

    self.params: theta1 (d, h1), theta1_0 (h1,), theta2 (h1, h2), theta2_0 (h2,),
    theta3 (h2, C), theta3_0 (C,).
    """

    def __init__(
        self,
        input_dim=3 * 32 * 32,
        hidden_dim_1=100,
        hidden_dim_2=100,
        num_classes=10,
        weight_scale=1e-2,
        reg=0.0,
    ):
        """Weights weight_scale * np.random.randn(...) in layer order, biases zero."""
        ### BEGIN SOLUTION
        self.reg = reg
        self.params = {
            "theta1": weight_scale * np.random.randn(input_dim, hidden_dim_1),
            "theta1_0": np.zeros(hidden_dim_1),
            "theta2": weight_scale * np.random.randn(hidden_dim_1, hidden_dim_2),
            "theta2_0": np.zeros(hidden_dim_2),
            "theta3": weight_scale * np.random.randn(hidden_dim_2, num_classes),
            "theta3_0": np.zeros(num_classes),
        }
        ### END SOLUTION

    def loss(self, X, y=None):
        """X: (m, d_1, ..., d_k); y: None or (m,) integer labels.

        Returns the scores (m, C) when y is None, else (loss, grads) as TwoLayerNet.loss.
        """
        ### BEGIN SOLUTION
        p = self.params
        h1, cache1 = affine_relu_forward(X, p["theta1"], p["theta1_0"])
        h2, cache2 = affine_relu_forward(h1, p["theta2"], p["theta2_0"])
        scores, cache3 = affine_forward(h2, p["theta3"], p["theta3_0"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        weights = ("theta1", "theta2", "theta3")
        loss += 0.5 * self.reg * sum(np.sum(p[k] ** 2) for k in weights)
        grads = {}
        dh2, grads["theta3"], grads["theta3_0"] = affine_backward(dscores, cache3)
        dh1, grads["theta2"], grads["theta2_0"] = affine_relu_backward(dh2, cache2)
        _, grads["theta1"], grads["theta1_0"] = affine_relu_backward(dh1, cache1)
        for k in weights:
            grads[k] += self.reg * p[k]
        return loss, grads
        ### END SOLUTION


# %% [markdown]
# Each of yours against layerwise's, on the same random inputs: the largest relative error
# of everything it returns (caches aside, which may be laid out differently), or "not written
# yet" while it still raises `NotImplementedError`. Below 1e-8 means the two agree.


# %%
def compare_with_layerwise(mine):
    """{name: largest relative error} of each of ``mine`` against layerwise's, and the names
    that are not written yet. ``mine``: the exercise's names -> your functions and classes."""
    theirs = {
        "affine_forward": layers.affine_forward,
        "affine_backward": layers.affine_backward,
        "relu_forward": layers.relu_forward,
        "relu_backward": layers.relu_backward,
        "affine_relu_forward": layer_utils.affine_relu_forward,
        "affine_relu_backward": layer_utils.affine_relu_backward,
        "softmax_loss": losses.softmax_loss,
        "svm_loss": losses.svm_loss,
        "sgd": optim.sgd,
        "TwoLayerNet": models.TwoLayerNet,
        "ThreeLayerNet": models.ThreeLayerNet,
    }
    rng = np.random.default_rng(0)  # a private stream: the cells below keep their numbers
    x, theta, theta0 = rng.normal(size=(4, 2, 3)), rng.normal(size=(6, 5)), rng.normal(size=5)
    dout, dx_up = rng.normal(size=(4, 5)), rng.normal(size=x.shape)
    scores, labels = rng.normal(size=(8, 10)), rng.integers(10, size=8)
    w, dw = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    X, y = rng.normal(size=(4, 12)), rng.integers(5, size=4)
    sizes = {
        "TwoLayerNet": {"hidden_dim": 7},
        "ThreeLayerNet": {"hidden_dim_1": 7, "hidden_dim_2": 6},
    }

    def results(impl, name):
        """What ``impl[name]`` returns on the inputs above (``impl``: mine or theirs)."""
        f = impl[name]
        if name in sizes:
            np.random.seed(1)  # the same initial weights for both
            model = f(input_dim=12, num_classes=5, weight_scale=0.1, reg=0.3, **sizes[name])
            return model.params, model.loss(X), model.loss(X, y)
        calls = {
            "affine_forward": lambda: f(x, theta, theta0)[0],
            "affine_backward": lambda: f(dout, (x, theta, theta0)),
            "relu_forward": lambda: f(x)[0],
            "relu_backward": lambda: f(dx_up, x),
            "affine_relu_forward": lambda: f(x, theta, theta0)[0],
            # its cache is laid out by its own forward pass
            "affine_relu_backward": lambda: f(
                dout, impl["affine_relu_forward"](x, theta, theta0)[1]
            ),
            "softmax_loss": lambda: f(scores, labels),
            "svm_loss": lambda: f(scores, labels),
            "sgd": lambda: (f(w.copy(), dw)[0], f(w.copy(), dw, {"learning_rate": 0.5})[0]),
        }
        return calls[name]()

    def error(a, b):
        if isinstance(b, dict):
            return max(error(a[k], b[k]) for k in b) if set(a) == set(b) else np.inf
        if isinstance(b, tuple):
            return max(error(u, v) for u, v in zip(a, b, strict=True))
        return rel_error(np.asarray(a), np.asarray(b)) if np.shape(a) == np.shape(b) else np.inf

    state = np.random.get_state()
    errors, missing = {}, []
    for name in mine:
        try:
            errors[name] = error(results(mine, name), results(theirs, name))
        except NotImplementedError:
            missing.append(name)
    np.random.set_state(state)
    return errors, missing


EXERCISE = (
    affine_forward,
    affine_backward,
    relu_forward,
    relu_backward,
    affine_relu_forward,
    affine_relu_backward,
    softmax_loss,
    svm_loss,
    sgd,
    TwoLayerNet,
    ThreeLayerNet,
)
errors, missing = compare_with_layerwise({f.__name__: f for f in EXERCISE})
for name, value in errors.items():
    print(f"{name:>20}: max relative error {value:.1e}")
for name in missing:
    print(f"{name:>20}: not written yet")
assert all(value < 1e-8 for value in errors.values()), errors
### BEGIN HIDDEN TESTS
assert not missing, f"the reference answers must implement every exercise; missing {missing}"
### END HIDDEN TESTS
print(f"{len(errors)} of {len(EXERCISE)} agree with layerwise's")


# %% [markdown]
# ## Layers and their gradient checks
#
# A layer is `xxx_forward(x, ...) -> (out, cache)` and `xxx_backward(dout, cache) -> grads`.
# Here layerwise's own layers (`layers.affine_forward`, ...) are checked the way you would check
# yours: the forward passes against the seed's exact outputs, every backward pass against
# centred differences (`eval_numerical_gradient_array`). Relative errors around 1e-9 or smaller
# mean the analytic gradient is right.

# %%
# Affine forward: the seed's exact output.
num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
input_size = num_inputs * np.prod(input_shape)
weight_size = output_dim * np.prod(input_shape)
x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
theta = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
theta0 = np.linspace(-0.3, 0.1, num=output_dim)
out, _ = layers.affine_forward(x, theta, theta0)
correct_out = np.array([[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]])
print("affine_forward difference:", rel_error(out, correct_out))
assert rel_error(out, correct_out) < 1e-9

# %%
# Affine backward against numeric gradients.
x = np.random.randn(10, 2, 3)
theta = np.random.randn(6, 5)
theta0 = np.random.randn(5)
dout = np.random.randn(10, 5)
dx_num = eval_numerical_gradient_array(
    lambda x: layers.affine_forward(x, theta, theta0)[0], x, dout
)
dtheta_num = eval_numerical_gradient_array(
    lambda theta: layers.affine_forward(x, theta, theta0)[0], theta, dout
)
dtheta0_num = eval_numerical_gradient_array(
    lambda theta0: layers.affine_forward(x, theta, theta0)[0], theta0, dout
)
_, cache = layers.affine_forward(x, theta, theta0)
dx, dtheta, dtheta0 = layers.affine_backward(dout, cache)
errors = {
    "dx": rel_error(dx_num, dx),
    "dtheta": rel_error(dtheta_num, dtheta),
    "dtheta0": rel_error(dtheta0_num, dtheta0),
}
print("affine_backward:", {k: f"{v:.1e}" for k, v in errors.items()})
assert max(errors.values()) < 1e-8

# %%
# ReLU forward (exact) and backward (numeric).
x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
out, _ = layers.relu_forward(x)
correct_out = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.04545455, 0.13636364],
        [0.22727273, 0.31818182, 0.40909091, 0.5],
    ]
)
print("relu_forward difference:", rel_error(out, correct_out))
assert rel_error(out, correct_out) < 1e-7

x = np.random.randn(10, 10)
dout = np.random.randn(*x.shape)
dx_num = eval_numerical_gradient_array(lambda x: layers.relu_forward(x)[0], x, dout)
_, cache = layers.relu_forward(x)
print("relu_backward dx error:", rel_error(dx_num, layers.relu_backward(dout, cache)))
assert rel_error(dx_num, layers.relu_backward(dout, cache)) < 1e-9

# %%
# The affine-ReLU "sandwich" layer: backward pass of the composition.
x = np.random.randn(2, 3, 4)
theta = np.random.randn(12, 10)
theta0 = np.random.randn(10)
dout = np.random.randn(2, 10)
_, cache = layer_utils.affine_relu_forward(x, theta, theta0)
dx, dtheta, dtheta0 = layer_utils.affine_relu_backward(dout, cache)
numeric = [
    eval_numerical_gradient_array(
        lambda v: layer_utils.affine_relu_forward(v, theta, theta0)[0], x, dout
    ),
    eval_numerical_gradient_array(
        lambda v: layer_utils.affine_relu_forward(x, v, theta0)[0], theta, dout
    ),
    eval_numerical_gradient_array(
        lambda v: layer_utils.affine_relu_forward(x, theta, v)[0], theta0, dout
    ),
]
errors = {
    name: rel_error(num, ana)
    for name, num, ana in zip(
        ("dx", "dtheta", "dtheta0"), numeric, (dx, dtheta, dtheta0), strict=True
    )
}
print("affine_relu_backward:", {k: f"{v:.1e}" for k, v in errors.items()})
assert max(errors.values()) < 1e-8

# %%
# Softmax loss: about log(10) = 2.3 for tiny scores; its gradient against numeric differences.
num_classes, num_inputs = 10, 50
x = 0.001 * np.random.randn(num_inputs, num_classes)
y = np.random.randint(num_classes, size=num_inputs)
dx_num = eval_numerical_gradient(lambda x: losses.softmax_loss(x, y)[0], x, verbose=False)
loss, dx = losses.softmax_loss(x, y)
print(f"softmax loss {loss:.4f}, dx error {rel_error(dx_num, dx):.1e}")
assert abs(loss - 2.3) < 0.01 and rel_error(dx_num, dx) < 1e-7

# %% [markdown]
# ## The two networks, checked against the seed's exact values
#
# `TwoLayerNet` is affine - ReLU - affine - softmax; `ThreeLayerNet` has one more affine-ReLU.
# Both store `theta1, theta1_0, ...` in `model.params` and compute `loss(X, y=None)`. With the
# seed's linspace parameters they must produce the seed's scores and losses to 1e-10.


# %%
def check_model_gradients(model, X, y, tolerance):
    """Every parameter's analytic gradient against numeric differences, with and without L2."""
    worst = 0.0
    for reg in (0.0, 0.7):
        model.reg = reg
        _, grads = model.loss(X, y)
        for name in sorted(grads):
            grad_num = eval_numerical_gradient(
                lambda _: model.loss(X, y)[0], model.params[name], verbose=False
            )
            error = rel_error(grad_num, grads[name])
            print(f"reg {reg}: {name} relative error {error:.2e}")
            worst = max(worst, error)
    assert worst < tolerance, worst


m, d, h, C = 3, 5, 50, 7
model = models.TwoLayerNet(input_dim=d, hidden_dim=h, num_classes=C, weight_scale=1e-2)
model.params["theta1"] = np.linspace(-0.7, 0.3, num=d * h).reshape(d, h)
model.params["theta1_0"] = np.linspace(-0.1, 0.9, num=h)
model.params["theta2"] = np.linspace(-0.3, 0.4, num=h * C).reshape(h, C)
model.params["theta2_0"] = np.linspace(-0.9, 0.1, num=C)
X = np.linspace(-5.5, 4.5, num=m * d).reshape(d, m).T
correct_scores = np.asarray(
    [
        [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
        [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
        [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319],
    ]
)
assert np.abs(model.loss(X) - correct_scores).sum() < 1e-6, "test-time forward pass"
y = np.asarray([0, 5, 1])
assert abs(model.loss(X, y)[0] - 3.4702243556) < 1e-10, "training loss"
model.reg = 1.0
assert abs(model.loss(X, y)[0] - 26.5948426952) < 1e-10, "regularised loss"
print("TwoLayerNet: scores and losses match the seed")
check_model_gradients(model, X, y, tolerance=1e-6)

# %%
m, d, h1, h2, C = 3, 5, 50, 30, 7
model = models.ThreeLayerNet(input_dim=d, hidden_dim_1=h1, hidden_dim_2=h2, num_classes=C)
model.params["theta1"] = np.linspace(-0.7, 0.3, num=d * h1).reshape(d, h1)
model.params["theta1_0"] = np.linspace(-0.1, 0.9, num=h1)
model.params["theta2"] = np.linspace(-0.3, 0.4, num=h1 * h2).reshape(h1, h2)
model.params["theta2_0"] = np.linspace(-0.9, 0.1, num=h2)
model.params["theta3"] = np.linspace(-0.3, 0.4, num=h2 * C).reshape(h2, C)
model.params["theta3_0"] = np.linspace(-0.9, 0.1, num=C)
X = np.linspace(-5.5, 4.5, num=m * d).reshape(d, m).T
correct_scores = np.asarray(
    [
        [24.7529953, 26.30758862, 27.86218194, 29.41677527, 30.97136859, 32.52596191, 34.08055524],
        [24.2416125, 25.82700689, 27.41240129, 28.99779568, 30.58319008, 32.16858448, 33.75397887],
        [23.7302297, 25.34642517, 26.96262063, 28.5788161, 30.19501157, 31.81120704, 33.42740251],
    ]
)
assert np.abs(model.loss(X) - correct_scores).sum() < 1e-6, "test-time forward pass"
y = np.asarray([0, 5, 1])
assert abs(model.loss(X, y)[0] - 6.56064352723) < 1e-10, "training loss"
model.reg = 1.0
assert abs(model.loss(X, y)[0] - 59.1928674811) < 1e-10, "regularised loss"
print("ThreeLayerNet: scores and losses match the seed")
check_model_gradients(model, X, y, tolerance=1e-5)

# %% [markdown]
# ## The data
#
# Every dataset is a dict with `X_train, y_train, X_val, y_val, X_test, y_test`. The digits
# are (m, 64) in [0, 1]; MNIST (m, 784) in [0, 1]; CIFAR-10 (m, 3, 32, 32), mean-centred.
# Quick mode trains on the first 5,000 training images of MNIST or CIFAR-10.

# %%
data = load_dataset(DATASET, data_dir=DATA_DIR, dtype=np.float32)
if QUICK and DATASET != "digits":
    sizes = {"train": 5000, "val": 1000, "test": 2000}
    data = {k: v[: sizes[k.split("_")[1]]] for k, v in data.items()}
for k, v in data.items():
    print(f"{k}: {v.shape}")
input_dim = int(np.prod(data["X_train"].shape[1:]))
CLASS_NAMES = CIFAR10_CLASSES if DATASET == "cifar10" else None

# %% [markdown]
# ## Training with the Solver
#
# The Solver samples minibatches, applies an update rule, records the loss of every iteration
# and the train/val accuracy of every epoch, and leaves the model holding the parameters with
# the best validation accuracy. Each dataset gets a recipe that works for it: the digits and
# MNIST lie in [0, 1] and take a larger learning rate than the seed's mean-centred CIFAR-10.

# %%
RECIPES = {
    "digits": {"learning_rate": 0.5, "weight_scale": 0.1, "batch_size": 50, "epochs": 20},
    "mnist": {"learning_rate": 0.1, "weight_scale": 0.01, "batch_size": 100, "epochs": 10},
    "cifar10": {"learning_rate": 1e-3, "weight_scale": 0.01, "batch_size": 100, "epochs": 10},
}
recipe = RECIPES[DATASET]
epochs = 5 if QUICK else recipe["epochs"]

model = models.TwoLayerNet(
    input_dim=input_dim,
    hidden_dim=100,
    num_classes=10,
    weight_scale=recipe["weight_scale"],
    dtype=np.float32,
    rng=np.random.default_rng(0),
)
solver = Solver(
    model,
    data,
    update_rule="sgd",
    optim_config={"learning_rate": recipe["learning_rate"]},
    lr_decay=0.95,
    num_epochs=epochs,
    batch_size=recipe["batch_size"],
    print_every=10_000,
    seed=0,
)
solver.train()
print(f"best validation accuracy {solver.best_val_acc:.3f}")

# %% [markdown]
# The seed's two panels: the loss of every minibatch as points, and the train/val accuracy
# per epoch with the dashed line at 0.5.

# %%
plot_training(solver)

# %% [markdown]
# The seed's TensorFlow section plotted the mean cost of each epoch; the same from the Solver:

# %%
plot_cost_per_epoch(solver)

# %% [markdown]
# The three-layer network trains the same way (one more hidden layer of 100 units).

# %%
model3 = models.ThreeLayerNet(
    input_dim=input_dim,
    hidden_dim_1=100,
    hidden_dim_2=100,
    num_classes=10,
    weight_scale=recipe["weight_scale"],
    dtype=np.float32,
    rng=np.random.default_rng(0),
)
solver3 = Solver(
    model3,
    data,
    update_rule="sgd",
    optim_config={"learning_rate": recipe["learning_rate"]},
    lr_decay=0.95,
    num_epochs=epochs,
    batch_size=recipe["batch_size"],
    verbose=False,
    seed=0,
)
solver3.train()
print(f"ThreeLayerNet: best validation accuracy {solver3.best_val_acc:.3f}")
plot_training(solver3)

# %% [markdown]
# ## The seed's Keras MLP as a FullyConnectedNet
#
# 784-512-512-512-10 with ReLU, dropout 0.2 and Adam (learning rate 1e-3, batches of 128), as
# in the seed's Keras cell; He initialisation suits ReLU. `FullyConnectedNet` takes any depth,
# and also batch or layer normalisation.

# %%
fc_epochs = {"digits": 20, "mnist": 5, "cifar10": 5}[DATASET]
if QUICK:
    fc_epochs = min(fc_epochs, 10 if DATASET == "digits" else 3)
fc_model = FullyConnectedNet(
    [512, 512, 512],
    input_dim=input_dim,
    num_classes=10,
    dropout=0.2,
    weight_init="he",
    rng=np.random.default_rng(0),
)
fc_solver = Solver(
    fc_model,
    data,
    update_rule="adam",
    optim_config={"learning_rate": 1e-3},
    num_epochs=fc_epochs,
    batch_size=128,
    verbose=False,
    seed=0,
)
start = time.perf_counter()
fc_solver.train()
y_pred = fc_model.predict(data["X_test"])
test_acc = float(np.mean(y_pred == data["y_test"]))
print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy {test_acc:.4f}")
plot_training(fc_solver)

# %% [markdown]
# ## What the network got right and wrong
#
# The seed's two 3x3 grids of test images, titled `predicted X, classes Y`: the first nine
# correctly classified, then the first nine mistakes.

# %%
plot_predictions(data["X_test"], data["y_test"], y_pred, correct=True, class_names=CLASS_NAMES)

# %%
plot_predictions(data["X_test"], data["y_test"], y_pred, correct=False, class_names=CLASS_NAMES)

# %% [markdown]
# ## First-layer weights
#
# Column j of `theta1` holds the input weights of hidden unit j: drawn as an image, it shows
# the pattern that excites the unit most (bright: positive weights, dark: negative).

# %%
plot_first_layer_weights(fc_model, max_units=64)

# %% [markdown]
# ## Confusion matrix
#
# Rows are the true classes, columns the predicted ones: the diagonal counts the hits, every
# other cell one kind of mistake.

# %%
plot_confusion_matrix(data["y_test"], y_pred, class_names=CLASS_NAMES)

# %% [markdown]
# ## Hyperparameter search
#
# The seed searched learning rates, layer sizes, dropout and activations by hand with nested
# loops. The same idea on a small grid, each setting trained with the Solver and scored on the
# validation set:

# %%
grid = {"learning_rate": [1e-3, 3e-3], "hidden": [128, 256]}
search_epochs = 2 if QUICK else 5
results = []
for lr in grid["learning_rate"]:
    for hidden in grid["hidden"]:
        trial = FullyConnectedNet(
            [hidden, hidden],
            input_dim=input_dim,
            num_classes=10,
            weight_init="he",
            rng=np.random.default_rng(0),
        )
        trial_solver = Solver(
            trial,
            data,
            update_rule="adam",
            optim_config={"learning_rate": lr},
            num_epochs=search_epochs,
            batch_size=128,
            verbose=False,
            seed=0,
        )
        trial_solver.train()
        results.append((trial_solver.best_val_acc, lr, hidden))
        print(f"lr {lr:g}, hidden {hidden}: validation accuracy {trial_solver.best_val_acc:.3f}")
best_acc, best_lr, best_hidden = max(results)
print(f"best: lr {best_lr:g}, hidden {best_hidden} ({best_acc:.3f})")

# %% [markdown]
# `layerwise.tune` runs such searches properly (samplers, pruning, parallel trials, a study
# folder that resumes) from the command line, `layerwise tune`. This cell runs only where it
# is installed.

# %%
try:
    tune = importlib.import_module("layerwise.tune")
except ImportError as e:
    print(f"layerwise.tune is not available here ({e}); skipping this section")
else:
    print((tune.__doc__ or "layerwise.tune").strip().splitlines()[0])
    print("Run `layerwise tune --help` for the search options.")

# %% [markdown]
# ## The framework twins
#
# The seed also built these networks in TensorFlow and Keras. `layerwise.frameworks` holds
# twins of the NumPy models (the `[tf]` extra); this cell runs only where they import.

# %%
try:
    frameworks = importlib.import_module("layerwise.frameworks")
except ImportError as e:
    print(f"layerwise.frameworks is not available here ({e}); skipping this section")
else:
    print((frameworks.__doc__ or "layerwise.frameworks").strip().splitlines()[0])

# %%
print(f"notebook finished in {time.perf_counter() - NOTEBOOK_START:.0f} s")
