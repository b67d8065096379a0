"""Hyperparameter search for layerwise models: ``layerwise tune`` (the ``[tune]`` extra).

- :mod:`~layerwise.tune.space`: search spaces from flags or a TOML file;
- :mod:`~layerwise.tune.study`: the Optuna study (storage in the study folder, samplers,
  pruning, resuming); :mod:`~layerwise.tune.database`: a database server's URL as storage;
- :mod:`~layerwise.tune.trial`: one trial, trained exactly like ``layerwise train``;
- :mod:`~layerwise.tune.executors`: trials in this process or on a Dask cluster;
- :mod:`~layerwise.tune.search`: the loop that asks, runs and records trials;
- :mod:`~layerwise.tune.report`, :mod:`~layerwise.tune.figures`: lines, results files, plot;
- :mod:`~layerwise.tune.retrain`: the best configuration retrained on train+val;
- :mod:`~layerwise.tune.plan`, :mod:`~layerwise.tune.cli`: the command line.

Importing this package needs nothing optional; the modules that use Optuna or Dask import them.
"""
