"""One training configuration (issue 13): defaults, validation, presets, and every user of them."""
import dataclasses

import pytest

from cnneff import cli, search
from cnneff.train.config import NOT_IN_IDENTITY, OPTIMIZERS, ConfigError, TrainConfig
from cnneff.train.presets import PRESETS
from cnneff.train import TrainError, fit


def test_every_field_has_a_default_and_a_reason():
    for f in dataclasses.fields(TrainConfig):
        assert f.default is not dataclasses.MISSING
        assert len(f.metadata.get("help", "")) > 10, f.name  # the reason, shown as the CLI's help too


def test_cli_offers_every_field_from_one_list():
    """The command line's training options are generated from TrainConfig's fields (no second list)."""
    train = cli.build_parser()._subparsers._group_actions[0].choices["train"]
    dests = {a.dest for a in train._actions}
    from cnneff.train.config import knobs

    assert {f.name for f in knobs(cli_only=True)} <= dests
    assert {f.name for f in knobs()} - {f.name for f in knobs(cli_only=True)} == {"mean", "std", "evaluate_test",
                                                                                  "progress"}


def test_from_spec_selects_a_preset_and_changes_it_field_by_field():
    c = TrainConfig.from_spec({"preset": "mask_baseline", "epochs": 9}, device="cpu")
    assert c.epochs == 9 and c.lr == TrainConfig.preset("mask_baseline").lr and c.device == "cpu"
    assert TrainConfig.from_spec("mask_sparse").lr == 1e-2
    with pytest.raises(ConfigError, match="name no preset"):
        TrainConfig.from_spec({"epochs": 9})
    with pytest.raises(ConfigError, match="unknown training preset"):
        TrainConfig.from_spec({"preset": "nope"})


def test_one_line_changes_the_book_optimizer():
    """BOOK in cnneff.train.presets is what every notebook preset shares: its optimizer is typed once
    (only the command line's own preset and paper 002's transfer presets, which keep the paper's RMSProp
    and, for its repeat with SGD, SGD, name another), so changing BOOK["optimizer"] changes every other notebook preset."""
    import inspect

    from cnneff.train import presets

    src = inspect.getsource(presets)
    typed = [line.split("=")[0].strip() for line in src.splitlines() if 'optimizer="' in line]
    assert typed == ["BOOK: dict[str, Any]", "_TRANSFER", '"cli": dict(epochs',
                     '"transfer_frozen_sgd": dict(_TRANSFER, optimizer'], typed
    book = {k for k in PRESETS if k not in ("default", "cli")}
    shares = {k for k in book if PRESETS[k].get("optimizer") == presets.BOOK["optimizer"]}
    assert book - shares == {"transfer_frozen", "transfer_partial", "transfer_full", "transfer_frozen_sgd"}


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_and_infinity_are_refused(value):
    with pytest.raises(ConfigError, match="lr=.* must be a finite number"):
        TrainConfig(lr=value)


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
    c = TrainConfig.preset("cli", lr=0.5)
    assert c.optimizer == "adamw" and c.lr == 0.5
    assert c.replace(epochs=3).lr == 0.5
    with pytest.raises(ConfigError, match="unknown training preset"):
        TrainConfig.preset("gpu-huge")


def test_identity_leaves_out_only_reporting_fields():
    ident = TrainConfig().identity()
    assert set(ident) | set(NOT_IN_IDENTITY) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert "progress" not in ident and "lr" in ident and "zero_init_residual" in ident


def test_cli_defaults_are_the_cli_preset():
    args = cli.build_parser().parse_args(["train", "--model", "m", "--data", "d"])
    cfg = cli._train_config(args)
    cpu = TrainConfig.preset("cli")
    for f in ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "warmup_epochs", "schedule", "augment",
              "bn_recalibration_batches", "precision", "channels_last", "device", "seed"):
        assert getattr(cfg, f) == getattr(cpu, f), f
    opt = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["train"]._actions
               if a.dest == "optimizer")
    assert tuple(opt.choices) == OPTIMIZERS


def test_sweep_defaults_are_the_sweep_preset():
    assert search.DEFAULT_TRAIN == PRESETS["tinynet_sweep"]
    assert TrainConfig.from_dict(search.DEFAULT_TRAIN).zero_init_residual


def test_fit_refuses_an_unknown_keyword():
    with pytest.raises(ConfigError, match="unknown training setting"):
        fit(None, None, learning_rate=0.1)
