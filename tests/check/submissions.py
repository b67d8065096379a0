"""Submissions for `layerwise check`, written by the tests: a correct one, and one per typical
bug, each made from the correct one by replacing one piece of its text."""

from __future__ import annotations

CORRECT = """
import numpy as np


def affine_forward(x, theta, theta0):
    out = x.reshape(x.shape[0], -1) @ theta + theta0
    return out, (x, theta, theta0)


def affine_backward(dout, cache):
    x, theta, theta0 = cache
    m = x.shape[0]
    dtheta = x.reshape(m, -1).T @ dout
    dtheta0 = dout.sum(axis=0)
    dx = (dout @ theta.T).reshape(x.shape)
    return dx, dtheta, dtheta0


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def affine_relu_forward(x, theta, theta0):
    a, fc_cache = affine_forward(x, theta, theta0)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    m = x.shape[0]
    loss = -np.log(probs[np.arange(m), y]).sum() / m
    dx = probs.copy()
    dx[np.arange(m), y] -= 1
    dx /= m
    return loss, dx


def svm_loss(x, y):
    m = x.shape[0]
    correct = x[np.arange(m), y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[np.arange(m), y] = 0
    loss = margins.sum() / m
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(m), y] -= dx.sum(axis=1)
    dx /= m
    return loss, dx


def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w = w - config["learning_rate"] * dw
    return w, config


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {
            "theta1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "theta1_0": np.zeros(hidden_dim),
            "theta2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "theta2_0": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        h, cache1 = affine_relu_forward(X, self.params["theta1"], self.params["theta1_0"])
        scores, cache2 = affine_forward(h, self.params["theta2"], self.params["theta2_0"])
        if y is None:
            return scores
        grads = {}
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params["theta1"] ** 2) + np.sum(self.params["theta2"] ** 2))
        dh, grads["theta2"], grads["theta2_0"] = affine_backward(dscores, cache2)
        _, grads["theta1"], grads["theta1_0"] = affine_relu_backward(dh, cache1)
        grads["theta1"] += self.reg * self.params["theta1"]
        grads["theta2"] += self.reg * self.params["theta2"]
        return loss, grads


class ThreeLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim_1=100, hidden_dim_2=100,
                 num_classes=10, weight_scale=1e-2, reg=0.0):
        self.reg = reg
        dims = [input_dim, hidden_dim_1, hidden_dim_2, num_classes]
        self.params = {}
        for i in range(3):
            self.params[f"theta{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"theta{i + 1}_0"] = np.zeros(dims[i + 1])

    def loss(self, X, y=None):
        p = self.params
        h1, c1 = affine_relu_forward(X, p["theta1"], p["theta1_0"])
        h2, c2 = affine_relu_forward(h1, p["theta2"], p["theta2_0"])
        scores, c3 = affine_forward(h2, p["theta3"], p["theta3_0"])
        if y is None:
            return scores
        grads = {}
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(p["theta1"] ** 2) + np.sum(p["theta2"] ** 2) + np.sum(p["theta3"] ** 2))
        dh2, grads["theta3"], grads["theta3_0"] = affine_backward(dscores, c3)
        dh1, grads["theta2"], grads["theta2_0"] = affine_relu_backward(dh2, c2)
        _, grads["theta1"], grads["theta1_0"] = affine_relu_backward(dh1, c1)
        for k in ("theta1", "theta2", "theta3"):
            grads[k] += self.reg * p[k]
        return loss, grads
"""
