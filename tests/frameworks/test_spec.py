"""NetSpec: one architecture description for every engine (needs no framework)."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from layerwise.models import FullyConnectedNet, ThreeLayerNet
from layerwise.spec import OPTIMIZER_DEFAULTS, NetSpec


def test_builds_the_layerwise_model_it_describes() -> None:
    spec = NetSpec(
        input_dim=784,
        hidden_dims=[512, 256],
        num_classes=10,
        activation="tanh",
        dropout=0.2,
        normalization="batchnorm",
        optimizer="adam",
        learning_rate=1e-3,
        reg=1e-4,
        dtype="float64",
        weight_init="he",
    )
    model = spec.build_numpy(seed=0)
    assert isinstance(model, FullyConnectedNet)
    assert model.dims == [784, 512, 256, 10] and spec.dims == (784, 512, 256, 10)
    assert (model.activation, model.dropout, model.normalization) == ("tanh", 0.2, "batchnorm")
    assert model.reg == 1e-4 and model.dtype == np.float64 and model.weight_init == "he"
    assert spec.hidden_dims == (512, 256) and spec.num_layers == 3
    assert dict(spec.optimizer_options) == {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    assert spec.optim_config() == {"learning_rate": 1e-3, **OPTIMIZER_DEFAULTS["adam"]}
    back = NetSpec.from_model(model, optimizer="adam", learning_rate=1e-3)
    assert back == spec


def test_from_any_layerwise_model() -> None:
    model = ThreeLayerNet(input_dim=12, hidden_dim_1=5, hidden_dim_2=4, num_classes=3, seed=0)
    spec = NetSpec.from_model(model, "sgd_momentum", 0.05, momentum=0.8)
    assert spec.dims == (12, 5, 4, 3) and spec.optimizer_options == {"momentum": 0.8}
    assert spec.dtype == "float64"
    with pytest.raises(ValueError, match=r"needs a layerwise fully connected model; got dict"):
        NetSpec.from_model({})


def test_json_round_trip_and_replace() -> None:
    spec = NetSpec(10, (8,), 3, optimizer="rmsprop", optimizer_options={"decay_rate": 0.9})
    again = NetSpec(**json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    adam = spec.replace(optimizer="adam")  # the old rule's options are dropped
    assert adam.optimizer_options == OPTIMIZER_DEFAULTS["adam"]
    assert spec.replace(normalization="none").normalization is None
    with pytest.raises(AttributeError):
        spec.dropout = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.optimizer_options["decay_rate"] = 0.5  # type: ignore[index]
    assert pickle.loads(pickle.dumps(spec)) == spec == copy.deepcopy(spec)
    assert len({spec, again, adam}) == 2


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"input_dim": 0}, r"input_dim must be a positive integer; got 0"),
        ({"input_dim": 2.5}, r"input_dim must be a positive integer; got 2\.5"),
        ({"hidden_dims": "100"}, r"hidden_dims must be a sequence of sizes; got '100'"),
        ({"hidden_dims": (10, -1)}, r"hidden_dims\[1\] must be a positive integer; got -1"),
        ({"num_classes": True}, r"num_classes must be a positive integer; got True"),
        ({"activation": "gelu"}, r"activation must be one of .*; got 'gelu'"),
        ({"dropout": 1.0}, r"dropout is the drop probability and must be < 1; got 1\.0"),
        ({"dropout": -0.1}, r"dropout must be a finite number >= 0; got -0\.1"),
        ({"normalization": "groupnorm"}, r"normalization must be one of .*; got 'groupnorm'"),
        ({"optimizer": "adagrad"}, r"optimizer must be one of .*; got 'adagrad'"),
        ({"learning_rate": 0}, r"learning_rate must be a finite number > 0; got 0"),
        ({"learning_rate": float("nan")}, r"learning_rate must be a finite number > 0; got nan"),
        (
            {"optimizer_options": {"beta1": 0.9}},
            r"optimizer 'sgd' takes no option\(s\) \['beta1'\]",
        ),
        ({"reg": -1}, r"reg must be a finite number >= 0; got -1"),
        ({"dtype": "float16"}, r"dtype must be 'float32' or 'float64'; got 'float16'"),
        ({"dtype": "banana"}, r"dtype must be 'float32' or 'float64'; got 'banana'"),
        ({"weight_scale": 0}, r"weight_scale must be a finite number > 0; got 0"),
        ({"weight_init": "lecun"}, r"weight_init must be None, 'he' or 'xavier'; got 'lecun'"),
    ],
)
def test_bad_values_are_named(changes: dict[str, Any], match: str) -> None:
    fields: dict[str, Any] = {"input_dim": 4, "hidden_dims": (3,), **changes}
    with pytest.raises(ValueError, match=match):
        NetSpec(**fields)


def test_bad_optimizer_options_are_named() -> None:
    with pytest.raises(ValueError, match=r"optimizer_options\['beta2'\] must be < 1; got 1\.0"):
        NetSpec(4, (3,), optimizer="adam", optimizer_options={"beta2": 1.0})
    with pytest.raises(ValueError, match=r"optimizer_options\['momentum'\] must be a finite"):
        NetSpec(4, (3,), optimizer="sgd_momentum", optimizer_options={"momentum": "x"})


def test_nothing_imports_tensorflow_until_a_twin_is_built() -> None:
    code = (
        "import sys, layerwise.cli as c, layerwise.spec, layerwise.frameworks.engines;"
        "import layerwise.compare; c.build_parser();"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
