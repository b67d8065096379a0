"""`layerwise check` on the toolkit's items (activations, dropout, batch and layer norm, the
update rules, FullyConnectedNet): a correct plain-NumPy submission passes every check, and each
typical bug, made by replacing one piece of the correct text, fails exactly the checks meant to
catch it, with a diagnosis that names the cause."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from layerwise.check import Report, check_path
from layerwise.check.catalog import load_checks

CORRECT = """
import numpy as np


def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out


def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache**2)


def leaky_relu_forward(x, leaky_param=None):
    slope = 0.01 if leaky_param is None else leaky_param.get("slope", 0.01)
    out = np.where(x > 0, x, slope * x)
    return out, (x, slope)


def leaky_relu_backward(dout, cache):
    x, slope = cache
    return np.where(x > 0, dout, slope * dout)


def dropout_forward(x, dropout_param):
    p = dropout_param.get("p", 0.0)
    if dropout_param.get("mode", "train") == "test" or p == 0:
        return x, None
    rng = np.random.default_rng(dropout_param.get("seed"))
    keep = rng.random(x.shape) >= p
    mask = keep.astype(x.dtype) / x.dtype.type(1 - p)
    return x * mask, mask


def dropout_backward(dout, cache):
    return dout if cache is None else dout * cache


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std, bn_param["mode"])


def batchnorm_backward(dout, cache):
    xhat, gamma, std, mode = cache
    dxhat = dout * gamma
    if mode == "test":
        dx = dxhat / std
    else:
        dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(x, gamma, beta, ln_param=None):
    eps = (ln_param or {}).get("eps", 1e-5)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    mean_dxhat = dxhat.mean(axis=1, keepdims=True)
    dx = (dxhat - mean_dxhat - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _config(config, **defaults):
    config = {} if config is None else config
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd_momentum(w, dw, config=None):
    config = _config(config, learning_rate=1e-2, momentum=0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov_momentum(w, dw, config=None):
    config = _config(config, learning_rate=1e-2, momentum=0.9)
    mu = config["momentum"]
    v_prev = config.get("velocity", np.zeros_like(w))
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def rmsprop(w, dw, config=None):
    config = _config(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    decay = config["decay_rate"]
    cache = decay * config.get("cache", np.zeros_like(w)) + (1 - decay) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def _adam_step(w, dw, config):
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    config.update(m=m, v=v, t=t)
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])


def adam(w, dw, config=None):
    config = _config(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    return w - _adam_step(w, dw, config), config


def adamw(w, dw, config=None):
    config = _config(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
                     weight_decay=0.01, decay_min_ndim=2)
    step = _adam_step(w, dw, config)
    if w.ndim >= config["decay_min_ndim"]:
        w = w * (1 - config["learning_rate"] * config["weight_decay"])
    return w - step, config


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=0.0,
                 reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.reg, self.dtype, self.dropout, self.seed = reg, dtype, dropout, seed
        dims = [input_dim, *hidden_dims, num_classes]
        self.num_layers = len(dims) - 1
        self.params = {}
        for i in range(1, len(dims)):
            w = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"theta{i}"] = w.astype(dtype)
            self.params[f"theta{i}_0"] = np.zeros(dims[i], dtype=dtype)

    def loss(self, X, y=None):
        p, L = self.params, self.num_layers
        mode = "test" if y is None else "train"
        h = X.reshape(X.shape[0], -1).astype(self.dtype)
        caches = []
        for i in range(1, L):
            a = h @ p[f"theta{i}"] + p[f"theta{i}_0"]
            param = {"p": self.dropout, "mode": mode, "seed": self.seed}
            out, drop = dropout_forward(np.maximum(a, 0), param)
            caches.append((h, a, drop))
            h = out
        scores = h @ p[f"theta{L}"] + p[f"theta{L}_0"]
        if y is None:
            return scores
        m = X.shape[0]
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(m), y]).mean()
        dscores = probs
        dscores[np.arange(m), y] -= 1
        dscores /= m
        grads = {f"theta{L}": h.T @ dscores, f"theta{L}_0": dscores.sum(axis=0)}
        dh = dscores @ p[f"theta{L}"].T
        for i in range(L - 1, 0, -1):
            h_in, a, drop = caches[i - 1]
            da = dropout_backward(dh, drop) * (a > 0)
            grads[f"theta{i}"], grads[f"theta{i}_0"] = h_in.T @ da, da.sum(axis=0)
            dh = da @ p[f"theta{i}"].T
        for i in range(1, L + 1):
            w = p[f"theta{i}"]
            loss += 0.5 * self.reg * np.sum(w * w)
            grads[f"theta{i}"] += self.reg * w
        return loss, grads
"""

ITEMS = [
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "dropout_forward",
    "dropout_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "layernorm_forward",
    "layernorm_backward",
    "sgd_momentum",
    "nesterov_momentum",
    "rmsprop",
    "adam",
    "adamw",
    "FullyConnectedNet",
]


def _check(tmp_path: Path, text: str, items: list[str]) -> Report:
    path = tmp_path / "submission.py"
    path.write_text(text, encoding="utf-8")
    return check_path(path, items=items)


def test_correct_submission_passes_every_check(tmp_path: Path) -> None:
    report = _check(tmp_path, CORRECT, ITEMS)
    checks = load_checks()
    registered = {(item, spec.name) for item in ITEMS for spec in checks[item]}
    assert {(r.item, r.check) for r in report.results} == registered
    assert all(len(checks[item]) >= 3 for item in ITEMS)  # values, float32, inputs, ...
    failed = [f"{r.name}: {r.diagnosis}" for r in report.failures()]
    assert failed == []
    for item, name in sorted(registered):
        assert report.result(item, name).passed, (item, name)


@dataclass(frozen=True)
class Bug:
    """One typical mistake: the piece of CORRECT it replaces, the checks it must fail (all
    others of ``items`` pass) and the words each failing check's diagnosis must contain."""

    old: str
    new: str
    items: list[str]
    failing: dict[tuple[str, str], str]


BUGS = {
    "sigmoid overflows": Bug(
        "    e = np.exp(-np.abs(x))\n    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))\n",
        "    out = 1 / (1 + np.exp(-x))\n",
        ["sigmoid_forward", "sigmoid_backward"],
        {("sigmoid_forward", "large inputs"): "exp overflows for large negative x"},
    ),
    "dropout without inverted scaling": Bug(
        "mask = keep.astype(x.dtype) / x.dtype.type(1 - p)",
        "mask = keep.astype(x.dtype)",
        ["dropout_forward", "dropout_backward"],
        {
            ("dropout_forward", "inverted scaling"): "not divided by the keep probability 1 - p",
            ("dropout_forward", "expected value"): "not divided by the keep probability",
        },
    ),
    "dropout with the keep probability": Bug(
        "    keep = rng.random(x.shape) >= p\n"
        "    mask = keep.astype(x.dtype) / x.dtype.type(1 - p)\n",
        "    keep = rng.random(x.shape) < p\n    mask = keep.astype(x.dtype) / x.dtype.type(p)\n",
        ["dropout_forward", "dropout_backward"],
        {
            ("dropout_forward", "fraction dropped"): "p looks like the keep probability",
            ("dropout_forward", "inverted scaling"): "divided by p",
        },
    ),
    "batchnorm momentum swapped": Bug(
        "momentum * running_mean + (1 - momentum) * mu\n"
        '        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var\n',
        "(1 - momentum) * running_mean + momentum * mu\n"
        '        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var\n',
        ["batchnorm_forward", "batchnorm_backward"],
        {("batchnorm_forward", "running averages"): "momentum is used the other way round"},
    ),
    "adam without bias correction": Bug(
        "    m_hat = m / (1 - b1**t)\n    v_hat = v / (1 - b2**t)\n",
        "    m_hat, v_hat = m, v\n",
        ["adam"],
        {("adam", "steps"): "no bias correction", ("adam", "default config"): "differs"},
    ),
    "leaky ReLU changes x in place": Bug(
        "    out = np.where(x > 0, x, slope * x)\n",
        "    x[x < 0] *= slope\n    out = x\n",
        ["leaky_relu_forward", "leaky_relu_backward"],
        {("leaky_relu_forward", "inputs unchanged"): "changed its argument 1 in place"},
    ),
    "FullyConnectedNet leaves out the last layer's regularisation": Bug(
        "for i in range(1, L + 1):",
        "for i in range(1, L):",
        ["FullyConnectedNet"],
        {
            ("FullyConnectedNet", "loss"): "misses theta4",
            ("FullyConnectedNet", "gradients"): "reg * theta4 is missing",
        },
    ),
}


@pytest.mark.parametrize("name", list(BUGS))
def test_bug_fails_its_checks(tmp_path: Path, name: str) -> None:
    bug = BUGS[name]
    assert CORRECT.count(bug.old) == 1, "the replaced piece must be in the correct text once"
    report = _check(tmp_path, CORRECT.replace(bug.old, bug.new), bug.items)
    assert {r.item for r in report.results} == set(bug.items)
    failed = {(r.item, r.check): r.diagnosis for r in report.failures()}
    assert set(failed) == set(bug.failing), failed
    for key, words in bug.failing.items():
        assert words in (failed[key] or ""), (key, failed[key])
