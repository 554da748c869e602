"""``cnneff macs``, ``run``, ``claims`` and ``models``."""
from __future__ import annotations

import json
import os
import shutil
import signal
import textwrap

from ..paths import PROFILES
from .common import CliError, fit_table, int_option

__all__ = ["cmd_macs", "cmd_run", "cmd_claims", "cmd_models", "add_parsers"]


def cmd_macs(args) -> int:
    """`cnneff macs`: print a model's params and MACs (and FLOPs = 2 MACs). Returns the exit status 0."""
    from ..counting import check_image_size, count, per_layer
    from ..models import build_model

    model = build_model(args.model, num_classes=args.num_classes)
    size = check_image_size(args.image_size if args.image_size is not None else model.image_size)
    c = count(model, size)
    out = dict(model=args.model, image_size=size, num_classes=args.num_classes, params=c.params, macs=c.macs)
    table = per_layer(model, size) if args.per_layer else None
    if args.json:
        if table is not None:
            out["layers"] = table.to_dict(orient="records")
        print(json.dumps(out))
        return 0
    if table is not None:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(table.to_string(index=False))
    print(f"{args.model} @ {size}px, {args.num_classes} classes: {c.params:,} params, "
          f"{c.macs:,} MACs ({c.macs / 1e6:,.1f} M MACs = {2 * c.macs / 1e6:,.1f} M FLOPs)")
    return 0


def _on_sigterm(signum, frame):
    """SIGTERM handler of ``cnneff run``: raise :class:`~cnneff.runner.Terminated` in the main thread."""
    from ..runner import Terminated

    raise Terminated()


def cmd_run(args) -> int:
    """`cnneff run`: check every run, then execute the notebooks into their
    results folder.  SIGTERM (like Ctrl-C) stops the running notebook, removes
    its staging files and ends with one line.  Returns the exit status 0."""
    from ..runner import Terminated

    state = {"name": None}
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _run_all(args, state)
    except (Terminated, KeyboardInterrupt) as e:
        what = "SIGTERM" if isinstance(e, Terminated) else "an interrupt (Ctrl-C)"
        during = f" while {state['name']} ran" if state["name"] else ""
        raise CliError(f"stopped by {what}{during}: its staging files are removed and the last good results are "
                       "unchanged; run the same command again to redo it") from None
    finally:
        signal.signal(signal.SIGTERM, old)
    return 0


def _run_all(args, state: dict) -> None:
    """The body of :func:`cmd_run` (``state["name"]``: the notebook running now).  Returns None."""
    from ..runner import check_runs, notebook_names, parse_value, run_folder, run_notebook

    overrides = {k: parse_value(v, k) for k, v in (args.param or [])}
    names = notebook_names() if args.name == "all" else [args.name]
    if args.name == "all" and overrides:
        raise ValueError("-p overrides apply to one notebook; name it instead of 'all'")
    if "scorecard" in names:  # it reads every other notebook's metrics: run it last
        names = [n for n in names if n != "scorecard"] + ["scorecard"]
    if args.plan:
        print(_plan_text(names, args.profile, overrides))
        return
    force = {name: not args.cached for name in names}
    check_runs(names, profile=args.profile, overrides=overrides, force=force, out=args.out,
               require_data_root=args.paper_data)  # all of them, before the first runs
    if args.profile == "gpu" and not os.environ.get("DATA_ROOT"):
        print("cnneff: DATA_ROOT is not set: the gpu profile runs the papers' settings on the embedded data sets "
              "(ELPV, Fashion-MNIST); set DATA_ROOT (make reproduce DATA_ROOT=/data) for the papers' own data")
    for name in names:
        state["name"] = name
        run_notebook(name, profile=args.profile, overrides=overrides, force=force[name], out=args.out)
    folder = run_folder(args.profile, overrides)
    if "scorecard" not in names and "scorecard" in notebook_names():  # refresh the folder's scorecard
        state["name"] = "scorecard"
        run_notebook("scorecard", profile=args.profile, overrides=None, force=not args.cached, out=args.out,
                     progress=False, folder=folder)
    state["name"] = None
    if folder != args.profile or args.out:
        where = f"{args.out}/{folder}" if args.out else f"results/{folder}"
        print(f"results in {where}/ (the committed results/{args.profile}/ is untouched); "
              f"score them with `cnneff claims --profile {folder}`" + ("" if args.out else
              f", build a book from them with `make book RESULTS={where}`"))


def _plan_text(names: list[str], profile: str, overrides: dict) -> str:
    """The plan of a run (:mod:`cnneff.plan`) without running it: per notebook
    the estimated GPU-minutes from its resolved parameters, then the total.
    Returns the text."""
    from ..plan import format_plan, plan_rows
    from ..runner.params import checked_parameters, notebook_names

    if any(n not in notebook_names() for n in names):
        raise CliError(f"no notebook {names[0]!r}; valid names: {', '.join(notebook_names())} or 'all'")
    resolved = {}
    for name in names:
        declared, raw = checked_parameters(name, profile, overrides)
        resolved[name] = {**declared, **raw}
    where = (f"the papers' data under DATA_ROOT={os.environ['DATA_ROOT']}" if os.environ.get("DATA_ROOT")
             else "the embedded data sets (DATA_ROOT not set)")
    return format_plan(plan_rows(names, resolved), f"profile {profile} on {where}")


def _check_profile_folder(profile: str) -> None:
    """CliError unless ``profile`` is a profile or an existing run folder of one."""
    from ..paths import base_profile, results_dir

    if base_profile(profile) not in PROFILES or (profile not in PROFILES and not results_dir(profile).is_dir()):
        raise CliError(f"unknown profile or run folder {profile!r}; use {', '.join(PROFILES)} or a folder "
                       "that `cnneff run NAME -p KEY VALUE` wrote (results/<profile>+KEY=VALUE-HASH)")


def cmd_claims(args) -> int:
    """`cnneff claims`: print the scorecard of a profile or run folder (after
    finishing any move into place that a killed run left there, so the
    scorecard never reads half of a run).  Returns the exit status 0."""
    from ..paths import base_profile, results_dir
    from ..runner import recover_folder
    from ..scorecard import counts, scorecard

    _check_profile_folder(args.profile)
    for folder in {results_dir(args.profile), results_dir(base_profile(args.profile))}:
        if folder.is_dir():
            recover_folder(folder)
    card = scorecard(args.profile)
    if args.json:
        print(json.dumps(dict(profile=args.profile, counts=counts(card),
                              claims=json.loads(card.to_json(orient="records")))))
        return 0
    print(fit_table(_claims_rows(card), wrap="reason"))
    print(textwrap.fill(", ".join(f"{k}: {v}" for k, v in counts(card).items() if v),
                        shutil.get_terminal_size((100, 24)).columns))
    return 0


def _claims_rows(card):
    """The terminal view of scorecard ``card``: id, verdict, the paper's value
    and ours with the claim's unit (``(proxy)`` on a stand-in), the reason.
    Returns a DataFrame of strings."""
    import pandas as pd

    from ..tables import format_number

    def value(v, unit):
        if isinstance(v, str):
            return v
        text = format_number(v)
        return text if text == "-" or not unit else f"{text} {unit}"

    return pd.DataFrame(dict(
        id=card["id"], verdict=card["verdict"],
        paper=[value(v, u) for v, u in zip(card["paper_value"], card["unit"])],
        ours=[value(v, u) + (" (proxy)" if p and value(v, u) != "-" else "")
              for v, u, p in zip(card["ours"], card["unit"], card["proxy"])],
        reason=card["reason"]))


def cmd_models(args) -> int:
    """`cnneff models`: print the model registry. Returns the exit status 0."""
    from ..models import model_table

    table = model_table().astype({"image_size": str})
    table = table.rename(columns={"image_size": "px"})
    print(fit_table(table, wrap="note"))
    return 0


def add_parsers(sub) -> None:
    """Add the ``macs``, ``run``, ``claims`` and ``models`` sub-commands to ``sub``.  Returns None."""
    f = sub.add_parser("macs", aliases=["flops"],
                       help="params and MACs of a model (the papers' 'FLOPs' are MACs: 1 MAC = 2 FLOPs)")
    f.add_argument("model", help="registry name (see `cnneff models`), or torchvision:NAME / timm:NAME")
    f.add_argument("--image-size", type=int_option, default=None,
                   help="input side in pixels (default: the model's native size)")
    f.add_argument("--num-classes", type=int_option, default=1000, help="classifier outputs (default 1000)")
    f.add_argument("--per-layer", action="store_true", help="also list every layer's params and MACs")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=cmd_macs)

    r = sub.add_parser("run", help="execute a notebook with papermill into results/<profile>/")
    r.add_argument("name", help="notebook name (file stem under notebooks/, not a path) or 'all'")
    r.add_argument("--profile", choices=PROFILES, default="cpu", help="parameter profile (default cpu)")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="override a notebook parameter (VALUE read as YAML); repeatable")
    r.add_argument("--cached", action="store_true",
                   help="skip notebooks whose source, parameters and library are unchanged since their last good run")
    r.add_argument("--paper-data", action="store_true",
                   help="require DATA_ROOT, the papers' own data sets (make reproduce passes it); without it the gpu "
                        "profile runs the papers' settings on the embedded data sets")
    r.add_argument("--plan", action="store_true",
                   help="print each notebook's estimated GPU-minutes (one GPU) and the total; run nothing")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="write the profile folders under DIR instead of results/ (default: results/; a run with -p "
                        "goes to results/<profile>+KEY=VALUE-HASH/, never over results/<profile>/)")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("claims", help="the scorecard: every paper claim against our computed value")
    c.add_argument("--profile", default="cpu",
                   help=f"{' | '.join(PROFILES)}, or a run folder such as cpu+epochs=10-1a2b3c4d (default cpu)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_claims)

    m = sub.add_parser("models", help="list the model registry")
    m.set_defaults(func=cmd_models)
