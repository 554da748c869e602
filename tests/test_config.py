"""One training configuration (issue 13): defaults, validation, presets, and every user of them."""
import dataclasses
import inspect

import pytest

from cnneff import cli, search
from cnneff.config import NOT_IN_IDENTITY, OPTIMIZERS, PRESETS, ConfigError, TrainConfig
from cnneff.train import TrainError, fit


def test_every_field_has_a_default_and_a_reason():
    src = inspect.getsource(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        assert f.default is not dataclasses.MISSING
        line = next(x for x in src.splitlines() if x.strip().startswith(f"{f.name}:"))
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 5, f.name


def test_unknown_key_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match=r"unknown training setting.*'learning_rate'") as e:
        TrainConfig.from_dict({"learning_rate": 0.1})
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        TrainConfig.from_dict(epoch=3)


@pytest.mark.parametrize("kw,field", [
    (dict(optimizer="adam"), "optimizer='adam' is unknown; choose one of sgd, rmsprop, adamw"),
    (dict(schedule="poly"), "schedule="),
    (dict(precision="fp8"), "precision="),
    (dict(epochs=0), "epochs=0 must be an integer >= 1"),
    (dict(batch_size=2.5), "batch_size="),
    (dict(lr="0.1"), "lr="),
    (dict(augment="yes"), "augment="),
    (dict(label_smoothing=1.0), "label_smoothing="),
])
def test_validate_names_the_field(kw, field):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**kw)
    assert field in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, TrainError) and isinstance(e.value, ValueError)


def test_presets_are_valid_and_replace_keeps_the_rest():
    for name in PRESETS:
        TrainConfig.preset(name)
    c = TrainConfig.preset("cpu", lr=0.5)
    assert c.optimizer == "adamw" and c.lr == 0.5
    assert c.replace(epochs=3).lr == 0.5
    with pytest.raises(ConfigError, match="unknown preset"):
        TrainConfig.preset("gpu-huge")


def test_identity_leaves_out_only_reporting_fields():
    ident = TrainConfig().identity()
    assert set(ident) | set(NOT_IN_IDENTITY) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert "progress" not in ident and "lr" in ident and "zero_init_residual" in ident


def test_cli_defaults_are_the_cpu_preset():
    args = cli.build_parser().parse_args(["train", "--model", "m", "--data", "d"])
    cfg = cli._train_config(args)
    cpu = TrainConfig.preset("cpu")
    for f in ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "warmup_epochs", "schedule", "augment",
              "bn_recalibration_batches", "precision", "channels_last", "device", "seed"):
        assert getattr(cfg, f) == getattr(cpu, f), f
    opt = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["train"]._actions
               if a.dest == "optimizer")
    assert tuple(opt.choices) == OPTIMIZERS


def test_sweep_defaults_are_the_sweep_preset():
    assert search.DEFAULT_TRAIN == PRESETS["sweep"]
    assert TrainConfig.from_dict(search.DEFAULT_TRAIN).zero_init_residual


def test_fit_refuses_an_unknown_keyword():
    with pytest.raises(ConfigError, match="unknown training setting"):
        fit(None, None, learning_rate=0.1)
