"""Your own data: a CSV or NPZ file as a :class:`Tabular` dataset, and the
:class:`TabularEncoder` that turns its feature columns into the matrix a network trains on.

Reading and encoding are two steps, so nothing learnt from the data leaks from the validation
or test rows into training::

    data = read_csv("houses.csv", target="price")         # or read_npz("arrays.npz")
    train, val, test = split(data, val_fraction=0.1, test_fraction=0.1, seed=0)
    encoder = data.encoder().fit(data.rows(train))        # learns from the training rows only
    X_train, y_train = encoder.transform(data.rows(train)), data.y[train]
    X_val, y_val = encoder.transform(data.rows(val)), data.y[val]   # (and the same for test)

or all at once, the six arrays :func:`layerwise.data.load_dataset` also returns::

    encoder, arrays = prepare(data, val_fraction=0.1, test_fraction=0.1, seed=0)

A model trained on them keeps ``encoder.to_dict()`` and ``data.target_info()`` (both JSON);
later, a new file with the same columns is encoded the same way::

    encoder = TabularEncoder.from_dict(saved["encoder"], source="run/model.json")
    new = read_csv(path, target=saved["target_names"] or None, task=saved["task"],
                   impute=encoder.impute, features=encoder.columns_, classes=saved["classes"])
    X, y = encoder.transform(new.features), new.y          # y is None when target is None

(pass the saved task: inferred afresh, a small file's task could differ from the model's.)

:func:`read_csv` reads and checks the file; :class:`TabularEncoder` does every numeric step.

``read_csv``, the rules:

- The first line is a header naming the columns (names are stripped of spaces, must be
  non-empty and distinct). A first line made only of numbers is refused: the file "needs a
  header row". Blank lines are skipped; every other line must have as many fields as the header
  (a ragged line is refused with its line number). Cells are stripped of surrounding spaces.
- Missing values: empty cells and pandas' usual markers (``NA``, ``N/A``, ``NaN``, ``nan``,
  ``null``, ``NULL``, ``None``, ``#N/A``, ``<NA>``, ...). In a feature column they are refused,
  naming the line and column, unless ``impute`` is ``"mean"`` or ``"median"``: then the encoder
  fills a numeric column with the mean or median of its training rows, and a categorical column
  with its most frequent training category (ties: the first in sorted order). A missing target
  value is always refused.
- Column kinds: a column is *numeric* when every value in it (missing ones aside) is a number,
  *categorical* when none is; a column holding both is refused, naming its first cell of the
  rarer kind (a stray word in a numeric column, a stray number in a categorical one). A column
  with no values at all counts as numeric. Infinite numbers (``inf``) are refused.
- Categorical features are one-hot encoded, one column per category in sorted order, named
  ``"column=category"``; a category the encoder did not see when fitted encodes as all zeros.
- The task, when not given, is inferred from the target column(s):

  * one column of text labels -> ``"classification"``;
  * one column of whole numbers with at most :data:`MAX_INFERRED_CLASSES` (20) distinct
    values -> ``"classification"`` (pass ``task="regression"`` for counts, ratings, ...);
  * one column of other numbers -> ``"regression"``;
  * several columns, every value 0 or 1 -> ``"multilabel"``, else ``"regression"``.

  A given task is checked against the values: a classification target takes text labels or
  whole numbers (``0.5`` is refused) and one column only; a column mixing numbers and text is
  taken as text labels only under an explicit ``task="classification"``. Regression targets
  must be finite numbers, multilabel targets 0 or 1. Classification labels become their indices
  0..C-1 (int64) in ``classes``, the sorted distinct labels (at least 2 are needed).

``read_npz`` takes the arrays ``X`` (n, d) and ``y`` ((n,) or (n, k)), and optionally both of
``X_test`` and ``y_test``; nothing else. They are loaded without pickle (object arrays are
refused), must be finite numbers (``y`` may also hold text labels) and of matching shapes; the
task rules are those above (a (n, 1) ``y`` counts as one column; bools count as 0 and 1).
Classification labels may be any integers or strings; ``y_test`` labels must all occur in ``y``.
The features are named ``x0 .. x{d-1}``.

Shapes after encoding: X float (n, d_encoded); y int64 (n,) for classification, float64 (n,)
or (n, k) for regression, int64 (n, k) of 0/1 for multilabel (the targets of
:mod:`layerwise.tasks`).

Every problem with a file raises :class:`~layerwise.data.errors.DatasetError` naming the file,
the line or array, the column and the value, and what was expected; a bad argument (an unknown
task, a fraction out of range) raises :class:`~layerwise.errors.ConfigError`. Both are
:class:`~layerwise.errors.LayerwiseError`. Reading a CSV file needs pandas
(``pip install 'layerwise[tabular]'``); NPZ files and the encoder need only NumPy.

The modules, each one step (a module imports only those listed before it):

- :mod:`~layerwise.data.tabular.messages`: how a message names the file, cell and values;
- :mod:`~layerwise.data.tabular.cells`: cells as text and numbers, missing values, column kinds;
- :mod:`~layerwise.data.tabular.targets`: target columns checked, the task inferred;
- :mod:`~layerwise.data.tabular.encoding`: columns taken apart and encoded as a matrix;
- :mod:`~layerwise.data.tabular.encoder`: :class:`TabularEncoder`, its fit and JSON form;
- :mod:`~layerwise.data.tabular.table`: :class:`Tabular`, the dataset a reader returns;
- :mod:`~layerwise.data.tabular.csv_file`, :mod:`~layerwise.data.tabular.npz_file`: the readers;
- :mod:`~layerwise.data.tabular.splits`: :func:`split` and :func:`prepare`.
"""

from __future__ import annotations

from .cells import NA_STRINGS
from .csv_file import INSTALL_HINT, PandasMissing, read_csv
from .encoder import IMPUTE, TabularEncoder
from .npz_file import read_npz
from .splits import DEFAULT_TEST_FRACTION, prepare, split
from .table import Tabular
from .targets import MAX_INFERRED_CLASSES, TASKS

__all__ = [
    "DEFAULT_TEST_FRACTION",
    "IMPUTE",
    "INSTALL_HINT",
    "MAX_INFERRED_CLASSES",
    "NA_STRINGS",
    "TASKS",
    "PandasMissing",
    "Tabular",
    "TabularEncoder",
    "prepare",
    "read_csv",
    "read_npz",
    "split",
]
