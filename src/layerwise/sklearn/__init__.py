"""scikit-learn estimators trained by layerwise: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take the names and parameters of ``sklearn.neural_network``'s classes, so code written for
those runs with only the import changed::

    from layerwise.sklearn import MLPClassifier   # was: from sklearn.neural_network import ...

    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), random_state=0))
    clf.fit(X_train, y_train).score(X_test, y_test)

They are scikit-learn estimators (``BaseEstimator`` with ``ClassifierMixin`` /
``RegressorMixin``): ``get_params``/``set_params``, ``clone``, pipelines, grid searches and
cross-validation work, and they pass scikit-learn's estimator checks (with float32, the
default, except three named with their reasons by :func:`expected_failed_checks`). Underneath, a
:class:`~layerwise.models.FullyConnectedNet` (``model_``) is trained by a
:class:`~layerwise.solver.Solver` (``solver_``, the one of the last ``fit``).

How scikit-learn's parameters map onto layerwise
------------------------------------------------
==========================  ===================================================================
hidden_layer_sizes          the hidden layers (an int is one layer; ``()`` is a linear model)
activation                  'relu', 'tanh', 'logistic' (layerwise's 'sigmoid'), plus
                            layerwise's 'leaky_relu'; 'identity' is refused (ValueError)
solver                      'adam' -> the ``adam`` rule (beta_1, beta_2, epsilon); 'sgd' ->
                            ``nesterov_momentum`` (momentum > 0 and nesterovs_momentum),
                            ``sgd_momentum`` (momentum > 0) or ``sgd``; 'lbfgs' is refused
alpha                       the L2 term: scikit-learn adds ``0.5 * alpha * ||W||^2 / n_batch``
                            (``n_batch``: the batch's size, or its sum of sample weights) to
                            the batch's mean loss; the model's ``reg`` is set to
                            ``alpha / n_batch`` before each update (multi-label: also divided
                            by the number of labels, see below)
batch_size                  'auto' is ``min(200, n_samples)``; larger than the training set:
                            clipped, with scikit-learn's warning; ``ceil(n / batch_size)``
                            updates an epoch
learning_rate_init          the rule's learning rate
learning_rate, power_t      with solver='sgd' (as in scikit-learn; ignored by adam):
                            'constant'; 'invscaling' (``lr_init / (t_ + 1) ** power_t`` after
                            every epoch); 'adaptive' (divide by 5 whenever the loss or the
                            validation score stalls for n_iter_no_change epochs, instead of
                            stopping, until the rate is below 1e-6)
max_iter                    epochs (the Solver's num_epochs)
tol, n_iter_no_change       scikit-learn's convergence test, run after every epoch by a
                            callback: the training loss (or, with early_stopping, the
                            validation score) has not improved by tol for more than
                            n_iter_no_change epochs. Reaching max_iter without converging
                            warns ``ConvergenceWarning``, as scikit-learn does
early_stopping,             hold out validation_fraction of the data (stratified for
validation_fraction         single-label classifiers) and stop on its score; the parameters
                            of the best epoch are put back at the end
warm_start                  continue from the previous fit's network (a fresh optimizer, as
                            in scikit-learn)
random_state                the weights, the dropout masks, the minibatches and the split
verbose                     scikit-learn's lines (``Iteration 3, loss = ...``)
max_fun                     accepted and unused (it bounds lbfgs, which layerwise lacks)
shuffle                     a fresh permutation of the examples every epoch, or (False) the
                            examples in order
==========================  ===================================================================

layerwise's own parameters: ``dropout`` (0.0), ``normalization`` (None, 'batchnorm',
'layernorm'), ``weight_init`` ('glorot_uniform', scikit-learn's: weights and biases uniform in
``+-sqrt(6 / (fan_in + fan_out))``, 2 instead of 6 for 'logistic'; or layerwise's Gaussian
'xavier' and 'he', with zero biases), ``lr_schedule`` (a :mod:`layerwise.schedules` schedule
over epochs, multiplying the learning rate, with any solver), ``dtype`` ('float32', the
default, or 'float64'), ``engine`` ('numpy', or an engine object such as
``layerwise.frameworks.engines.make_engine('keras')``, for unweighted classifiers); the
classifier's ``class_weight`` (None, 'balanced' or a dict keyed by the original labels) and
``loss`` (None or 'log_loss': scikit-learn's layout; 'softmax': a softmax output even for two
classes); the regressor's ``loss`` ('squared_error' = 'mse', 'absolute_error' = 'mae', 'huber';
'poisson' is refused) and ``huber_delta``.

Where the training differs from scikit-learn's
----------------------------------------------
- Minibatches: every epoch visits each training example once, a fresh permutation
  (``shuffle=True``) or in order (``shuffle=False``), in ``ceil(n / batch_size)`` minibatches
  of nearly equal size (scikit-learn: ``batch_size`` each and the remainder last). The
  Solver's own minibatches are drawn with replacement; a small engine (``EpochBatches``)
  around ``engine`` trains on these instead (the Solver's draw is made and ignored, a small
  cost), and sets each batch's L2 weight, scikit-learn's ``alpha / (batch size, or its sum of
  sample weights)``. Examples of weight 0 are left out of training.
- Computation is float32 by default (``dtype``); probabilities and regression outputs are
  returned as float64. The estimator checks that compare at float64's precision need
  ``dtype='float64'`` (:func:`expected_failed_checks`).
- Two classes (``loss=None``) use one logistic output as scikit-learn does (``n_outputs_ == 1``,
  ``out_activation_ == 'logistic'``); a single class is allowed and always predicted.
- Multi-label: layerwise's sigmoid cross-entropy is the *mean* over the k labels where
  scikit-learn sums them, so the L2 weight is divided by k too (the same objective divided by
  k: the same minimum, and the same Adam steps) and ``loss_``/``loss_curve_`` are reported
  multiplied by k (scikit-learn's scale, so ``tol`` means the same).
- ``partial_fit`` is ``partial_fit(X, y, classes=None, sample_weight=None)`` (the order of
  scikit-learn's ``partial_fit`` methods before 1.7, so ``partial_fit(X, y, classes)`` works);
  it trains one epoch and keeps the optimizer's state between calls.
- The convergence test and the early-stopping scores are taken at the end of each epoch, and
  the early-stopping score of a classifier is the accuracy (subset accuracy, multi-label) on
  the held-out part, weighted by its sample weights, as scikit-learn's.

Fitted attributes
-----------------
scikit-learn's: ``classes_`` (classifier), ``n_features_in_``, ``feature_names_in_`` (for a
DataFrame with string column names), ``loss_`` (the last epoch's mean training loss, L2 term
included), ``loss_curve_`` (one per epoch), ``best_loss_`` (None with early stopping),
``validation_scores_`` and ``best_validation_score_`` (None without early stopping), ``n_iter_``
(epochs of the last call), ``t_`` (training samples seen in all), ``n_layers_``,
``n_outputs_``, ``out_activation_`` ('softmax', 'logistic' or 'identity'), ``coefs_`` and
``intercepts_`` (views of the model's ``theta{i}`` and ``theta{i}_0``). layerwise's:
``model_`` (the FullyConnectedNet), ``solver_`` (the last fit's Solver, made with
``evaluate=False``: the scores are ``loss_curve_`` and ``validation_scores_``, not its
histories; it references the training arrays: ``del est.solver_`` frees them; not pickled,
not saved) and ``recipe_`` (a
JSON-able dict: the parameters and the resolved model and training settings).

Saving without pickle
---------------------
``est.save('clf.npz')`` writes the network with :func:`layerwise.io.save_model` (``clf.npz``:
the arrays; ``clf.json``: the model) and adds the estimator (parameters, ``classes_`` with
their dtype, the fitted attributes) to the JSON under ``"estimator"``;
``MLPClassifier.load('clf.npz')`` reads it back with ``np.load(allow_pickle=False)``, so a file
cannot run code. The optimizer's state is not saved: ``partial_fit`` after ``load`` starts a
fresh one. Plain ``pickle`` (and joblib) also work, as for any scikit-learn estimator
(``solver_`` is left out), but unpickle only files you trust: a pickle can run any code.

The modules
-----------
- :mod:`~layerwise.sklearn.classifier`, :mod:`~layerwise.sklearn.regressor`: the estimators;
- ``_base``: what they share, the flow of ``fit`` and ``partial_fit`` and the fitted attributes;
- ``_params``: the parameter constraints, and what each parameter becomes in layerwise;
- ``_data``: input validation, sample and class weights, the early-stopping split;
- ``_training``: the epochs: scikit-learn's minibatches and the convergence test;
- ``_files``: ``save``/``load`` without pickle; ``_checks``: :func:`expected_failed_checks`.
"""

from __future__ import annotations

from layerwise.sklearn._checks import expected_failed_checks
from layerwise.sklearn.classifier import MLPClassifier
from layerwise.sklearn.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "expected_failed_checks"]

# The public path, whatever module defines them: pickles (and reprs of the class) name
# layerwise.sklearn.MLPClassifier, so they do not depend on the layout inside the package.
MLPClassifier.__module__ = MLPRegressor.__module__ = __name__
