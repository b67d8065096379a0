"""The seed notebook's own implementation cells, as printed in ../shared/seed/ (its text is
garbled by extraction: spaces in names are restored, docstrings shortened), bugs kept. They
are graded by tests/check/test_check.py: every bug the seed's README lists must be reported and
every function the seed has right must pass.

The seed's bugs, and the check that must report each:
- softmax_loss sets dx[i, y[i]] = 1 instead of subtracting 1 (softmax_loss: seed values);
- TwoLayerNet stores both outputs of affine_backward in grads['theta2'], so 'theta2_0' is
  missing (TwoLayerNet: grads keys, code of loss);
- ThreeLayerNet passes self.params['theta2'] as the second layer's bias (ThreeLayerNet:
  test-time scores, code of loss);
- ThreeLayerNet's regularisation sums theta1 twice and never theta3, and adds the
  regularisation gradient to theta1 only (ThreeLayerNet: code of loss).
"""

CELLS = [
    """
import numpy as np
import matplotlib.pyplot as plt
""",
    '''
def affine_forward(x, theta, theta0):
    """Computes the forward pass for an affine (fully-connected) layer."""
    out = None
    m = x.shape[0]
    x_flattened = x.reshape(m, -1)
    # affine transformation
    out = np.dot(x_flattened, theta) + theta0
    cache = (x, theta, theta0)
    return out, cache
''',
    '''
def affine_backward(dout, cache):
    """Computes the backward pass for an affine layer."""
    x, theta, theta0 = cache
    dx, dtheta, dtheta0 = None, None, None
    m = x.shape[0]
    x_reshaped = x.reshape(m, -1)
    dtheta = np.dot(x_reshaped.T, dout)
    dtheta0 = np.sum(dout, axis=0)
    dx = np.dot(dout, theta.T)
    dx = dx.reshape(*x.shape)
    return dx, dtheta, dtheta0
''',
    '''
def relu_forward(x):
    """Computes the forward pass for a layer of rectified linear units (ReLUs)."""
    out = None
    out = np.maximum(x, 0)
    cache = x
    return out, cache
''',
    '''
def relu_backward(dout, cache):
    """Computes the backward pass for a layer of rectified linear units (ReLUs)."""
    dx, x = None, cache
    dx = dout * (x > 0)
    return dx
''',
    '''
from layers import *
def affine_relu_forward(x, theta, theta0):
    """Convenience layer that perorms an affine transform followed by a ReLU"""
    a, fc_cache = affine_forward(x, theta, theta0)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache
def affine_relu_backward(dout, cache):
    """Backward pass for the affine-relu convenience layer"""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dtheta, dtheta0 = affine_backward(da, fc_cache)
    return dx, dtheta, dtheta0
''',
    '''
def softmax_loss(x, y):
    """Computes the loss and gradient for softmax classification."""
    probs = np.exp(x - np.max(x, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    m = x.shape[0]
    loss = -np.sum(np.log(probs[np.arange(m), y])) / m
    dx = probs.copy()
    dx[np.arange(m), y] = 1
    dx /= m
    return loss, dx
''',
    '''
class TwoLayerNet(object):
    """A two-layer fully-connected neural network with ReLU nonlinearity and softmax loss."""

    def __init__(self, input_dim=3*32*32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params['theta1'] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params['theta1_0'] = np.zeros(hidden_dim)
        self.params['theta2'] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params['theta2_0'] = np.zeros(num_classes)

    def loss(self, X, y=None):
        scores = None
        hidden_layer, cache_hidden_layer = affine_forward(X, self.params['theta1'], self.params['theta1_0'])
        hidden_layer_relu, cache_hidden_layer_relu = relu_forward(hidden_layer)
        scores, cache_scores = affine_forward(hidden_layer_relu, self.params['theta2'], self.params['theta2_0'])
        # If y is None then we are in test mode so just return scores
        if y is None:
            return scores
        loss, grads = 0, {}
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params['theta1'] ** 2) + np.sum(self.params['theta2'] ** 2))
        # backpropagation
        dhidden_layer_relu, grads['theta2'], grads['theta2'] = affine_backward(dscores, cache_scores)
        dhidden_layer = relu_backward(dhidden_layer_relu, cache_hidden_layer_relu)
        _, grads['theta1'], grads['theta1_0'] = affine_backward(dhidden_layer, cache_hidden_layer)
        # regularization gradients
        grads['theta1'] += self.reg * self.params['theta1']
        grads['theta2'] += self.reg * self.params['theta2']
        return loss, grads
''',
    '''
class ThreeLayerNet(object):
    """A three-layer fully-connected neural network with ReLU nonlinearity and softmax loss."""

    def __init__(self, input_dim=3*32*32, hidden_dim_1=100, hidden_dim_2=100, num_classes=10,
                 weight_scale=1e-2, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params['theta1'] = weight_scale * np.random.randn(input_dim, hidden_dim_1)
        self.params['theta1_0'] = np.zeros(hidden_dim_1)
        self.params['theta2'] = weight_scale * np.random.randn(hidden_dim_1, hidden_dim_2)
        self.params['theta2_0'] = np.zeros(hidden_dim_2)
        self.params['theta3'] = weight_scale * np.random.randn(hidden_dim_2, num_classes)
        self.params['theta3_0'] = np.zeros(num_classes)

    def loss(self, X, y=None):
        scores = None
        hidden_layer1, cache_hidden_layer1 = affine_forward(X, self.params['theta1'], self.params['theta1_0'])
        hidden_layer1_relu, cache_hidden_layer1_relu = relu_forward(hidden_layer1)
        hidden_layer2, cache_hidden_layer2 = affine_forward(hidden_layer1_relu, self.params['theta2'], self.params['theta2'])
        hidden_layer2_relu, cache_hidden_layer2_relu = relu_forward(hidden_layer2)
        scores, cache_scores = affine_forward(hidden_layer2_relu, self.params['theta3'], self.params['theta3_0'])
        # If y is None then we are in test mode so just return scores
        if y is None:
            return scores
        loss, grads = 0, {}
        loss, dout3 = softmax_loss(scores, y)
        # loss and gradient for softmax
        loss += 0.5 * self.reg * (np.sum(self.params['theta1'] ** 2) + np.sum(self.params['theta2'] ** 2) + np.sum(self.params['theta1'] ** 2))
        # backpropagation
        dhidden_layer2_relu, grads['theta3'], grads['theta3_0'] = affine_backward(dout3, cache_scores)
        dhidden_layer2 = relu_backward(dhidden_layer2_relu, cache_hidden_layer2_relu)
        dhidden_layer1_relu, grads['theta2'], grads['theta2_0'] = affine_backward(dhidden_layer2, cache_hidden_layer2)
        dhidden_layer1 = relu_backward(dhidden_layer1_relu, cache_hidden_layer1_relu)
        dx, grads['theta1'], grads['theta1_0'] = affine_backward(dhidden_layer1, cache_hidden_layer1)
        # regularization gradients
        grads['theta1'] += self.reg * self.params['theta1']
        return loss, grads
''',
]
