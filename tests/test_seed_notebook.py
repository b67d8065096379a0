"""The seed notebook's cells, run end to end against layerwise.

Only two kinds of change from the seed: imports come from layerwise, and the data is a small
CIFAR-10 in the official format (so ``get_CIFAR10_data`` is called with small split sizes).
Everything else, including the models' and Solver's arguments, is the seed's.
"""

import matplotlib
import numpy as np
import pytest

from dataset_files import make_small_cifar

matplotlib.use("Agg")

IMPORTS = """
import numpy as np
import matplotlib.pyplot as plt
from layerwise.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from layerwise.solver import Solver
from layerwise.layers import *
from layerwise.layer_utils import *
from layerwise.models import TwoLayerNet, ThreeLayerNet
from layerwise.data import load_CIFAR_batch, load_CIFAR10, get_CIFAR10_data

plt.rcParams['figure.figsize'] = (10.0, 8.0)
plt.rcParams['image.interpolation'] = 'nearest'
plt.rcParams['image.cmap'] = 'gray'

def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
"""

LOAD = """
data = get_CIFAR10_data(num_training=NUM_TRAINING, num_validation=NUM_VALIDATION, num_test=5)
for k, v in data.items():
    print('%s: ' % k, v.shape)
"""

AFFINE_FORWARD = """
num_inputs = 2
input_shape = (4, 5, 6)
output_dim = 3
input_size = num_inputs * np.prod(input_shape)
weight_size = output_dim * np.prod(input_shape)
x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
theta = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
theta0 = np.linspace(-0.3, 0.1, num=output_dim)
out, _ = affine_forward(x, theta, theta0)
correct_out = np.array([[ 1.49834967,  1.70660132,  1.91485297],
                        [ 3.25553199,  3.5141327,   3.77273342]])
print('Testing affine_forward function:')
print('difference: ', rel_error(out, correct_out))
results['affine_forward'] = rel_error(out, correct_out)
"""

AFFINE_BACKWARD = """
x = np.random.randn(10, 2, 3)
theta = np.random.randn(6, 5)
theta0 = np.random.randn(10, 5)
dout = np.random.randn(10, 5)

dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, theta, theta0)[0], x, dout)
dtheta_num = eval_numerical_gradient_array(lambda theta: affine_forward(x, theta, theta0)[0], theta, dout)
dtheta0_num = eval_numerical_gradient_array(lambda theta0: affine_forward(x, theta, theta0)[0], theta0, dout)

_, cache = affine_forward(x, theta, theta0)
dx, dtheta, dtheta0 = affine_backward(dout, cache)

print('Testing affine_backward function:')
print('dx error: {}'.format(rel_error(dx_num, dx)))
print('dtheta error: {}'.format(rel_error(dtheta_num, dtheta)))
print('dtheta0 error: {}'.format(rel_error(dtheta0_num, dtheta0)))
results['affine_backward'] = max(rel_error(dx_num, dx), rel_error(dtheta_num, dtheta),
                                 rel_error(dtheta0_num, dtheta0))
"""

RELU = """
x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
out, _ = relu_forward(x)
correct_out = np.array([[ 0.,          0.,          0.,          0.,        ],
                        [ 0.,          0.,          0.04545455,  0.13636364,],
                        [ 0.22727273,  0.31818182,  0.40909091,  0.5,       ]])
print('Testing relu_forward function:')
print('difference: ', rel_error(out, correct_out))
results['relu_forward'] = rel_error(out, correct_out)

x = np.random.randn(10, 10)
dout = np.random.randn(*x.shape)
dx_num = eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)
_, cache = relu_forward(x)
dx = relu_backward(dout, cache)
print('Testing relu_backward function:')
print('dx error: {} '.format(rel_error(dx_num, dx)))
results['relu_backward'] = rel_error(dx_num, dx)
"""

SANDWICH = """
x = np.random.randn(2, 3, 4)
theta = np.random.randn(12, 10)
theta0 = np.random.randn(10)
dout = np.random.randn(2, 10)

out, cache = affine_relu_forward(x, theta, theta0)
dx, dtheta, dtheta0 = affine_relu_backward(dout, cache)

dx_num = eval_numerical_gradient_array(lambda x: affine_relu_forward(x, theta, theta0)[0], x, dout)
dtheta_num = eval_numerical_gradient_array(lambda w: affine_relu_forward(x, theta, theta0)[0], theta, dout)
dtheta0_num = eval_numerical_gradient_array(lambda b: affine_relu_forward(x, theta, theta0)[0], theta0, dout)

print('Testing affine_relu_backward:')
print('dx error: ', rel_error(dx_num, dx))
print('dtheta error: ', rel_error(dtheta_num, dtheta))
print('dtheta0 error: ', rel_error(dtheta0_num, dtheta0))
results['affine_relu'] = max(rel_error(dx_num, dx), rel_error(dtheta_num, dtheta),
                             rel_error(dtheta0_num, dtheta0))
"""

SOFTMAX = """
num_classes, num_inputs = 10, 50
x = 0.001 * np.random.randn(num_inputs, num_classes)
y = np.random.randint(num_classes, size=num_inputs)

dx_num = eval_numerical_gradient(lambda x: softmax_loss(x, y)[0], x, verbose=False)
loss, dx = softmax_loss(x, y)

print('\\nTesting softmax_loss:')
print('loss: ', loss)
print('dx error: ', rel_error(dx_num, dx))
results['softmax_loss'] = loss
results['softmax_dx'] = rel_error(dx_num, dx)
"""

TWO_LAYER = """
m, d, h, C = 3, 5, 50, 7
X = np.random.randn(m, d)
y = np.random.randint(C, size=m)

std = 1e-2
model = TwoLayerNet(input_dim=d, hidden_dim=h, num_classes=C, weight_scale=std)

print ('Testing initialization ... ')
theta1_std = abs(model.params['theta1'].std() - std)
theta1_0 = model.params['theta1_0']
theta2_std = abs(model.params['theta2'].std() - std)
theta2_0 = model.params['theta2_0']
assert theta1_std < std / 10, 'First layer weights do not seem right'
assert np.all(theta1_0 == 0), 'First layer biases do not seem right'
assert theta2_std < std / 10, 'Second layer weights do not seem right'
assert np.all(theta2_0 == 0), 'Second layer biases do not seem right'

print ('Testing test-time forward pass ... ')
model.params['theta1'] = np.linspace(-0.7, 0.3, num=d*h).reshape(d, h)
model.params['theta1_0'] = np.linspace(-0.1, 0.9, num=h)
model.params['theta2'] = np.linspace(-0.3, 0.4, num=h*C).reshape(h, C)
model.params['theta2_0'] = np.linspace(-0.9, 0.1, num=C)
X = np.linspace(-5.5, 4.5, num=m*d).reshape(d, m).T
scores = model.loss(X)
correct_scores = np.asarray(
  [[11.53165108,  12.2917344,   13.05181771,  13.81190102,  14.57198434, 15.33206765,  16.09215096],
   [12.05769098,  12.74614105,  13.43459113,  14.1230412,   14.81149128, 15.49994135,  16.18839143],
   [12.58373087,  13.20054771,  13.81736455,  14.43418138,  15.05099822, 15.66781506,  16.2846319 ]])
scores_diff = np.abs(scores - correct_scores).sum()
assert scores_diff < 1e-6, 'Problem with test-time forward pass'

print ('Testing training loss (no regularization)')
y = np.asarray([0, 5, 1])
loss, grads = model.loss(X, y)
correct_loss = 3.4702243556
assert abs(loss - correct_loss) < 1e-10, 'Problem with training-time loss'

model.reg = 1.0
loss, grads = model.loss(X, y)
correct_loss = 26.5948426952
assert abs(loss - correct_loss) < 1e-10, 'Problem with regularization loss'

for reg in [0.0, 0.7]:
    print ('Running numeric gradient check with reg = ', reg)
    model.reg = reg
    loss, grads = model.loss(X, y)
    for name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]
        grad_num = eval_numerical_gradient(f, model.params[name], verbose=False)
        print ('%s relative error: %.2e' % (name, rel_error(grad_num, grads[name])))
        results['two_layer_' + name + '_' + str(reg)] = rel_error(grad_num, grads[name])
"""

THREE_LAYER = """
m, d, h1, h2, C = 3, 5, 50, 30, 7
X = np.random.randn(m, d)
y = np.random.randint(C, size=m)

std = 1e-2
model = ThreeLayerNet(input_dim=d, hidden_dim_1=h1, hidden_dim_2=h2, num_classes=C, weight_scale=std)

print ('Testing initialization ... ')
for name in ['theta1', 'theta2', 'theta3']:
    assert abs(model.params[name].std() - std) < std / 10, name
    assert np.all(model.params[name + '_0'] == 0), name

print ('Testing test-time forward pass ... ')
model.params['theta1'] = np.linspace(-0.7, 0.3, num=d*h1).reshape(d, h1)
model.params['theta1_0'] = np.linspace(-0.1, 0.9, num=h1)
model.params['theta2'] = np.linspace(-0.3, 0.4, num=h1*h2).reshape(h1, h2)
model.params['theta2_0'] = np.linspace(-0.9, 0.1, num=h2)
model.params['theta3'] = np.linspace(-0.3, 0.4, num=h2*C).reshape(h2, C)
model.params['theta3_0'] = np.linspace(-0.9, 0.1, num=C)
X = np.linspace(-5.5, 4.5, num=m*d).reshape(d, m).T
scores = model.loss(X)
correct_scores = np.asarray([
 [ 24.7529953,   26.30758862,  27.86218194,  29.41677527,  30.97136859,  32.52596191,  34.08055524],
 [ 24.2416125,   25.82700689,  27.41240129,  28.99779568,  30.58319008,  32.16858448,  33.75397887],
 [ 23.7302297,   25.34642517,  26.96262063,  28.5788161,   30.19501157,  31.81120704,  33.42740251]])
scores_diff = np.abs(scores - correct_scores).sum()
assert scores_diff < 1e-6, 'Problem with test-time forward pass'

y = np.asarray([0, 5, 1])
loss, grads = model.loss(X, y)
assert abs(loss - 6.56064352723) < 1e-10, 'Problem with training-time loss'
model.reg = 1.0
loss, grads = model.loss(X, y)
assert abs(loss - 59.1928674811) < 1e-10, 'Problem with regularization loss'

for reg in [0.0, 0.7]:
    print ('Running numeric gradient check with reg = ', reg)
    model.reg = reg
    loss, grads = model.loss(X, y)
    for name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]
        grad_num = eval_numerical_gradient(f, model.params[name], verbose=False)
        print ('%s relative error: %.2e' % (name, rel_error(grad_num, grads[name])))
        results['three_layer_' + name + '_' + str(reg)] = rel_error(grad_num, grads[name])
"""

TWO_LAYER_SOLVER = """
model = TwoLayerNet()
sgd_solver = Solver(model, data,
                    update_rule='sgd',
                    optim_config={
                      'learning_rate': 1e-3,
                    },
                    lr_decay=0.95,
                    num_epochs=10,
                    batch_size=100,
                    print_every=100)
sgd_solver.train()

plt.subplot(2, 1, 1)
plt.title('Training loss')
plt.plot(sgd_solver.loss_history, 'o')
plt.xlabel('Iteration')
plt.subplot(2, 1, 2)
plt.title('Accuracy')
plt.plot(sgd_solver.train_acc_history, '-o', label='train')
plt.plot(sgd_solver.val_acc_history, '-o', label='val')
plt.plot([0.5] * len(sgd_solver.val_acc_history), 'k--')
plt.xlabel('Epoch')
plt.legend(loc='lower right')
plt.gcf().set_size_inches(15, 12)
plt.close('all')
results['two_layer_solver'] = sgd_solver
"""

THREE_LAYER_SOLVER = """
model = ThreeLayerNet()
sgd_solver = None
data_dict = get_CIFAR10_data(num_training=NUM_TRAINING, num_validation=NUM_VALIDATION, num_test=5)
data = {
    'X_train': data_dict['X_train'],
    'y_train': data_dict['y_train'],
    'X_val': data_dict['X_val'],
    'y_val': data_dict['y_val'],
}
sgd_solver = Solver(model, data,
                    update_rule='sgd',
                    optim_config={
                      'learning_rate': 1e-3,
                    },
                    lr_decay=0.95,
                    num_epochs=20, batch_size=100,
                    print_every=100)
sgd_solver.train()
results['three_layer_solver'] = sgd_solver
"""

CELLS = [
    IMPORTS, LOAD, AFFINE_FORWARD, AFFINE_BACKWARD, RELU, SANDWICH, SOFTMAX, TWO_LAYER,
    THREE_LAYER, TWO_LAYER_SOLVER, THREE_LAYER_SOLVER,
]  # fmt: skip


@pytest.fixture
def cifar_dir(tmp_path, monkeypatch):
    """A small CIFAR-10 archive (52 training, 7 test images) as the data folder."""
    small = make_small_cifar(tmp_path / "cifar")
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(small.batches_dir))
    monkeypatch.setenv("LAYERWISE_OFFLINE", "1")
    return small


def test_seed_cells_run_end_to_end(cifar_dir, capsys):
    np.random.seed(0)
    namespace = {"results": {}, "NUM_TRAINING": 40, "NUM_VALIDATION": 10}
    for cell in CELLS:
        exec(compile(cell, "<seed cell>", "exec"), namespace)
    r = namespace["results"]
    out = capsys.readouterr().out

    assert "X_train:  (40, 3, 32, 32)" in out and "y_val:  (10,)" in out
    # The seed's printed figures: affine 9.8e-10, backward <= 3e-10, relu 5e-8 and 3e-12, ...
    assert r["affine_forward"] < 1e-9
    assert r["affine_backward"] < 1e-8
    assert r["relu_forward"] < 1e-7 and r["relu_backward"] < 1e-9
    assert r["affine_relu"] < 1e-8
    assert abs(r["softmax_loss"] - 2.3) < 0.01 and r["softmax_dx"] < 1e-7
    assert max(v for k, v in r.items() if k.startswith("two_layer_theta")) < 1e-6
    assert max(v for k, v in r.items() if k.startswith("three_layer_theta")) < 1e-5

    two = r["two_layer_solver"]
    assert two.num_iterations == 10 * max(40 // 100, 1)
    # One iteration per epoch: the first check is also the end of epoch 1 (as in CS231n's
    # Solver, one check per iteration), so 10 entries rather than 11.
    assert len(two.val_acc_history) == 10
    assert "(Iteration 1 / 10) loss: " in out
    assert "(Epoch 10 / 10) train acc: " in out
    three = r["three_layer_solver"]
    assert len(three.train_acc_history) == 20 and "(Epoch 20 / 20)" in out
