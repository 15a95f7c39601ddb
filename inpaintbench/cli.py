"""The ``inpaintbench`` command. Torch is imported only by the commands that compute."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .errors import InpaintbenchError, printable, warn
from .runner.plan.bounds import check_image_size, check_name, check_names, check_positive
from .runner.plan.config import RunConfig
from .runner.plan.references import REFERENCE_MODELS, with_references

if TYPE_CHECKING:
    from .plugins import Registry
    from .runner.plan.config import Plan
    from .runner.shared.distributed import World

KIND_OF = {"models": "model", "masks": "mask", "metrics": "metric", "datasets": "dataset"}


class _Parser(argparse.ArgumentParser):
    """argparse's own errors (a bad int, an unknown flag) as the one line every other input error is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {printable(message)} (see {self.prog} --help)\n")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _path(text: str) -> Path:
    """A path option; an empty one is refused, not read as '.' (``-o ''`` wrote ./index.html)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text)


def _option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--option '{text}' is not KEY=VALUE")
    return key, value


def _add_training_options(p: argparse.ArgumentParser, flags: dict[str, tuple[str, type, str]]) -> None:
    g = p.add_argument_group("model options (the flags are declared by the models that read them)")
    for flag, (key, kind, text) in flags.items():
        g.add_argument(flag, dest=f"model_flag:{key}", type=kind, metavar=key.upper(), help=text)
    g.add_argument(
        "--option",
        action="append",
        type=_option,
        default=[],
        metavar="KEY=VALUE",
        help="any other model option (repeatable)",
    )
    g.add_argument("--train-dataset", help="dataset to train on (default: the run's dataset, train split)")


def model_flags(registry: Registry | None) -> tuple[dict[str, tuple[str, type, str]], list[str]]:
    """The flags registered models declare (``Model.flags``): flag -> (option key, type, help), and a
    warning for each one skipped because the host or another model already has it otherwise."""
    found: dict[str, tuple[str, type, str]] = {}
    skipped: list[str] = []
    for name in registry.names("model") if registry is not None else []:
        cls = registry.components["model"][name]
        for flag, (key, kind) in cls.flags.items():
            text = f"{cls.options[key]} (model {name})"
            if flag in HOST_FLAGS or (flag in found and found[flag][:2] != (key, kind)):
                skipped.append(
                    f"model '{name}' declares {flag}, which is already a flag; use --option {key}=..."
                )
            elif flag in found:
                found[flag] = (key, kind, f"{found[flag][2]}; {text}")
            else:
                found[flag] = (key, kind, text)
    return found, skipped


def _model_options(args: argparse.Namespace) -> dict[str, str]:
    options = dict(args.option)
    for dest, value in vars(args).items():
        if dest.startswith("model_flag:") and value is not None:
            options[dest.partition(":")[2]] = str(value)
    return options


#: The flags of ``run`` and ``train`` a model may not declare.
HOST_FLAGS = frozenset(
    ("--model", "--masks", "--dataset", "--metrics", "--image-size", "--seed", "--limit", "--batch-size",
     "--device", "--out", "--name", "--resume", "--no-images", "--no-progress", "--no-references",
     "--option", "--train-dataset", "--train-on-test", "--float-scores", "--debug", "--help")
)  # fmt: skip


def build_parser(registry: Registry | None = None) -> argparse.ArgumentParser:
    """The command line; ``registry`` adds the flags its models declare to ``run`` and ``train``."""
    flags, _ = model_flags(registry)
    parser = _Parser(
        prog="inpaintbench",
        description="Benchmark image inpainting models with seeded masks and checked metrics.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="evaluate models over mask regimes on a dataset")
    run.add_argument(
        "--model",
        help="model(s), comma-separated, e.g. mean_fill,biharmonic or torchscript:big-lama.pt,mean_fill",
    )
    masks, metrics = (",".join(RunConfig.default(name)) for name in ("masks", "metrics"))
    run.add_argument(
        "--masks", type=_csv, default=RunConfig.default("masks"), help=f"mask regimes (default {masks})"
    )
    run.add_argument(
        "--dataset", default=RunConfig.default("dataset"), help="samples (default) or folder:PATH, ..."
    )
    run.add_argument("--metrics", type=_csv, default=RunConfig.default("metrics"), help=f"default {metrics}")
    run.add_argument("--image-size", type=int, default=RunConfig.default("image_size"))
    run.add_argument("--seed", type=int, default=RunConfig.default("seed"))
    run.add_argument("--limit", type=int, help="evaluate at most N images")
    run.add_argument("--batch-size", type=int, default=RunConfig.default("batch_size"))
    run.add_argument(
        "--device", default=RunConfig.default("device"), help="auto (CUDA, then MPS, then CPU), cpu, cuda"
    )
    run.add_argument("--out", type=_path, help="output folder (default reports/<name or timestamp>)")
    run.add_argument("--name", help="name of the output folder under reports/")
    run.add_argument(
        "--resume", type=_path, metavar="DIR", help="finish the run stored in DIR with its settings"
    )
    run.add_argument("--no-images", action="store_true", help="do not save PNGs of masks and predictions")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument(
        "--float-scores",
        action="store_true",
        help="score float composites, not the 8-bit ones saved (numbers then differ from the folder's PNGs)",
    )
    run.add_argument(
        "--no-references",
        action="store_true",
        help=f"do not add the reference baselines ({', '.join(REFERENCE_MODELS)}) to a run that names none",
    )
    _add_training_options(run, flags)
    run.add_argument(
        "--train-on-test",
        action="store_true",
        help="let models train on the evaluation images of a dataset without a training split "
        "(results are marked not held-out)",
    )

    train = sub.add_parser("train", help="train a model without evaluating it")
    train.add_argument("--model", required=True)
    for flag, name, kind in (("--dataset", "dataset", str), ("--image-size", "image_size", int),
                             ("--seed", "seed", int), ("--device", "device", str)):  # fmt: skip
        train.add_argument(flag, type=kind, default=RunConfig.default(name))
    train.add_argument("--out", type=_path, help="checkpoint folder")
    train.add_argument("--no-progress", action="store_true")
    _add_training_options(train, flags)

    report = sub.add_parser("report", help="render one HTML report from one or several runs")
    report.add_argument("runs", nargs="+", type=_path, metavar="RUN_DIR")
    report.add_argument("-o", "--out", type=_path, required=True)
    report.add_argument("--self-contained", action="store_true", help="inline every image into one HTML file")
    report.add_argument(
        "--reference", help="model the others are compared with (default: the first baseline)"
    )

    rescore = sub.add_parser("rescore", help="recompute a run's rows from the PNGs its folder keeps")
    rescore.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    rescore.add_argument(
        "--metrics", type=_csv, help="compute these instead of checking the run's own (written to --out)"
    )
    rescore.add_argument(
        "-o", "--out", type=Path, help="CSV of the recomputed rows (default RUN_DIR/rescored.csv)"
    )
    rescore.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")

    plugins = sub.add_parser("plugins", help="list installed plugins and what they register")
    plugins.add_argument("--json", action="store_true")

    lst = sub.add_parser("list", help="list registered components")
    lst.add_argument("what", choices=sorted(KIND_OF))
    lst.add_argument("-v", "--verbose", action="store_true", help="also show plugin, argument and options")

    datasets = sub.add_parser("datasets", help="benchmark dataset recipes (datasets/ in the repository)")
    datasets_sub = datasets.add_subparsers(dest="datasets_command", required=True)
    check = datasets_sub.add_parser("check", help="is a local copy of a recipe's dataset complete?")
    check.add_argument("name", help="recipe: paris_streetview, celeba_hq, places365")
    check.add_argument("path", type=_path, help="the dataset's root folder")
    check.add_argument("--no-progress", action="store_true")

    freeze = sub.add_parser("freeze", help="write a frozen evaluation set (images, masks, hashes)")
    freeze.add_argument("--dataset", required=True, help="any dataset spec, e.g. places365:/data/places")
    freeze.add_argument("--masks", type=_csv, required=True, help="mask regimes, comma-separated")
    freeze.add_argument("--image-size", type=int, required=True)
    freeze.add_argument("--seed", type=int, default=0)
    freeze.add_argument("--limit", type=int, help="freeze at most N images")
    freeze.add_argument("--out", type=_path, required=True, help="a new or empty folder")

    export = sub.add_parser(
        "export", help="write a run's sealed inputs and masks as PNGs for a model that runs elsewhere"
    )
    export.add_argument("--dataset", required=True, help="any dataset spec; evalset:DIR keeps its masks")
    export.add_argument("--masks", type=_csv, required=True, help="mask regimes, comma-separated")
    export.add_argument("--image-size", type=int, required=True)
    export.add_argument("--seed", type=int, default=0, help="the seed the scoring run will use")
    export.add_argument("--limit", type=int, help="export at most N images")
    export.add_argument("--out", type=_path, required=True, help="a new or empty folder")

    masks = sub.add_parser("masks", help="look at mask regimes: sample grids and hole statistics")
    masks_sub = masks.add_subparsers(dest="masks_command", required=True)
    preview = masks_sub.add_parser("preview", help="draw sample masks of each regime into a grid PNG")
    preview.add_argument("regimes", type=_csv, metavar="R[,S...]")
    preview.add_argument("-n", type=int, default=16, help="masks per regime (default 16)")
    preview.add_argument("--image-size", type=int, default=256)
    preview.add_argument("--seed", type=int, default=0)
    preview.add_argument("-o", "--out", type=_path, required=True, help="PNG to write")
    stats = masks_sub.add_parser("stats", help="hole-ratio distribution and hole-to-known distances")
    stats.add_argument("regimes", type=_csv, metavar="R[,S...]")
    stats.add_argument("--n", type=int, default=500, help="masks per regime (default 500)")
    stats.add_argument("--image-size", type=int, default=256)
    stats.add_argument("--seed", type=int, default=0)

    new = sub.add_parser("new", help="scaffold new things: a plugin distribution")
    new_sub = new.add_subparsers(dest="new_command", required=True)
    plugin = new_sub.add_parser(
        "plugin", help="write a plugin distribution (model, mask, metric, contract tests) to edit"
    )
    plugin.add_argument("name", help="distribution name; its package and component prefix are snake_case")
    plugin.add_argument("--out", type=_path, metavar="DIR", help="a new or empty folder (default ./NAME)")
    for leaf in _leaves(parser):
        leaf.add_argument("--debug", action="store_true", help="print full tracebacks of errors")
    return parser


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that end a command line (``run``, ``datasets check``, ...), each once."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += _leaves(child)
    return found or [parser]


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import get_registry

    registry = get_registry()
    rows = [
        {"name": p.name, "version": p.version, "builtin": p.builtin, "registers": p.registers}
        for p in registry.plugins
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        what = (
            "; ".join(f"{kind}: {', '.join(names)}" for kind, names in row["registers"].items()) or "nothing"
        )
        print(f"{row['name']} {row['version']}{' (built-in)' if row['builtin'] else ''} — {what}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .plugins import get_registry

    registry = get_registry()
    kind = KIND_OF[args.what]
    names = registry.names(kind)
    width = max((len(n) for n in names), default=0)
    for name in names:
        component = registry.components[kind][name]
        print(f"{name:<{width}}  {component.description}")
        if not args.verbose:
            continue
        print(f"{'':<{width}}    from plugin {registry.plugin_of(kind, name)}")
        if component.argument is not None:
            print(f"{'':<{width}}    {name}:ARG  {component.argument}")
        options = getattr(component, "options", {})
        key_width = max(map(len, options), default=0)
        for option, text in options.items():
            print(f"{'':<{width}}    {option:<{key_width}}  {text}")
    return 0


def _default_out(name: str | None) -> Path:
    if name is not None:
        check_name(name)
    return Path("reports") / (name or datetime.now().strftime("%Y%m%d-%H%M%S"))


def cmd_run(args: argparse.Namespace) -> int:
    """Check every name and option with the plugin registry alone, then import torch and run; under
    torchrun (``WORLD_SIZE`` > 1) every rank does the same and rank 0 prints the outcome."""
    from .plugins import get_registry
    from .runner.plan.config import Plan, RunConfig
    from .runner.plan.stored import stored_config
    from .runner.shared.distributed import World

    world = World.from_env()
    if args.resume is not None:
        config = RunConfig.from_json(stored_config(args.resume))
        _refuse_changes(args, config)
        out = args.resume
    else:
        if not args.model:
            raise InpaintbenchError("--model is required (or --resume DIR)")
        config = _config(args, args.model)
        out = args.out or _default_out(args.name)
    plan = Plan.resolve(config, out, get_registry())  # a typo ends here, before torch is imported
    world.init()
    try:
        if world.distributed and args.out is None and args.resume is None:
            plan.out = world.share(plan.out)  # rank 0's timestamp names the one folder
        return _run(plan, args, world)
    finally:
        world.close()


def _config(args: argparse.Namespace, model: str) -> RunConfig:
    """The settings ``run``'s options give, with ``model`` for ``--model``."""
    from .plugins import get_registry

    models, references = with_references(get_registry().split("model", model), not args.no_references)
    return RunConfig(
        models=models,
        references=references,
        masks=args.masks,
        metrics=args.metrics,
        dataset=args.dataset,
        train_dataset=args.train_dataset,
        image_size=args.image_size,
        seed=args.seed,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        options=_model_options(args),
        save_images=not args.no_images,
        train_on_test=args.train_on_test,
        float_scores=args.float_scores,
    )


#: The settings (``RunConfig`` fields) each option of ``run`` sets; the model flags set ``options``.
SETTING_OF = {
    "model": ("models", "references"), "no_references": ("models", "references"), "masks": ("masks",),
    "metrics": ("metrics",), "dataset": ("dataset",), "train_dataset": ("train_dataset",),
    "image_size": ("image_size",), "seed": ("seed",), "limit": ("limit",), "batch_size": ("batch_size",),
    "device": ("device",), "option": ("options",), "no_images": ("save_images",),
    "train_on_test": ("train_on_test",), "float_scores": ("float_scores",),
}  # fmt: skip


def _refuse_changes(args: argparse.Namespace, stored: RunConfig) -> None:
    """``--resume DIR`` finishes the run stored in DIR with its own settings: an option that would change
    one of them is refused by name rather than ignored (one that repeats the stored value is fine)."""
    given = _given_options(args.argv)
    asked = [m for m in stored.models if m not in stored.references]  # what --no-references is checked on
    fresh = asdict(_config(args, args.model or ",".join(asked)))
    fresh["options"] = stored.options | fresh["options"]
    kept = asdict(stored)
    for dest, flag in given.items():
        if dest in ("out", "name") and (dest == "name" or Path(args.out) != Path(args.resume)):
            raise InpaintbenchError(f"--resume {args.resume} writes into {args.resume}: give no {flag}")
        fields = ("options",) if dest.startswith("model_flag:") else SETTING_OF.get(dest, ())
        changed = next((f for f in fields if fresh[f] != kept[f]), None)
        if changed is not None:
            raise InpaintbenchError(
                f"--resume {args.resume} finishes the stored run with its own settings, and {flag} would "
                f"change its {changed} ({kept[changed]!r} to {fresh[changed]!r}): leave {flag} out, or "
                "start a new run with another --out"
            )


def _given_options(argv: list[str]) -> dict[str, str]:
    """The options of ``run`` that ``argv`` gives, dest -> flag, whatever their values (a default given
    explicitly counts): parsed again with no defaults."""
    parser = build_parser(_registry_for_flags(announce=False))
    run = next(
        action.choices["run"] for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    flags = {}
    for action in run._actions:
        action.default = argparse.SUPPRESS
        flags[action.dest] = action.option_strings[0] if action.option_strings else action.dest
    return {dest: flags[dest] for dest in vars(parser.parse_args(argv)) if dest in flags}


def _run(plan: Plan, args: argparse.Namespace, world: World) -> int:
    from .runner.run import Runner

    out = plan.out
    runner = Runner(plan.config, out, args.argv, progress=not args.no_progress, debug=args.debug,
                    world=world, plan=plan)  # fmt: skip
    try:
        outcome = runner.execute()
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished results are stored; continue with: inpaintbench run --resume {out}",
            file=sys.stderr,
        )
        return 130
    if not world.leader:
        return 1 if outcome.incomplete or outcome.failures else 0
    print(outcome.summary_table)
    print(
        f"\n{outcome.computed} results computed; written to {outcome.out}"
        f" (results.csv, summary.csv, run.json, index.html)"
    )
    if outcome.incomplete or outcome.failures:
        for line in outcome.incomplete:
            print(f"incomplete: {line}", file=sys.stderr)
        print(f"the run is incomplete: see run.json and {outcome.out / 'errors.log'}", file=sys.stderr)
        return 1
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .cache import cache_dir
    from .components import PrepareContext, TrainSplit
    from .device import resolve_device
    from .files.atomic import kind
    from .options import check_options
    from .plugins import get_registry

    check_image_size(args.image_size)
    registry = get_registry()
    model = registry.get("model", args.model)
    spec = args.train_dataset or args.dataset
    registry.get("dataset", spec)  # a wrong spec fails here, before any work
    given = _model_options(args)
    check_options(given, [model])
    model.check_options(given)
    options = dict(given)
    if args.out is not None:
        if kind(args.out, "--out") == "file":  # a file, /dev/zero: refused before any training
            raise InpaintbenchError(
                f"--out {args.out} is not a folder: give the folder to write the checkpoint in"
            )
        options["out"] = str(args.out)
    ctx = PrepareContext(
        train_dataset=TrainSplit(lambda: registry.get("dataset", spec), spec),
        image_size=args.image_size,
        device=resolve_device(args.device),
        seed=args.seed,
        regimes=[],
        options=options,
        cache_dir=cache_dir(),
        progress=not args.no_progress,
        log=lambda line: print(printable(line)),  # one line each, whatever names the plugin puts in it
    )
    path = model.train(ctx)
    print(f"checkpoint saved to {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .files.atomic import kind
    from .report import render

    for run_dir in args.runs:
        if kind(run_dir / "run.json", "report") != "file":
            raise InpaintbenchError(f"{run_dir} is not a run folder (no run.json)")
    index = render(args.runs, args.out, self_contained=args.self_contained, reference=args.reference)
    print(f"report written to {index}")
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    """Check a run's numbers against its PNGs (exit 1 naming the rows that differ), or compute others."""
    from .device import resolve_device
    from .plugins import get_registry
    from .rescore import rescore

    found = rescore(args.run_dir, get_registry(), args.metrics, args.out, resolve_device(args.device))
    names = ", ".join(found.metrics)
    if args.metrics is not None:
        written = args.out or args.run_dir / "rescored.csv"
        print(f"{names} of {found.rows} rows of {args.run_dir} written to {written}")
        return 0
    for line in found.mismatches[:5]:
        print(f"differs: {line}", file=sys.stderr)
    if found.mismatches:
        print(
            f"error: {len(found.mismatches)} values of {args.run_dir / 'results.csv'} differ from its PNGs",
            file=sys.stderr,
        )
        return 1
    largest = ", ".join(f"{name} {gap:.1e}" for name, gap in found.largest.items())
    print(
        f"{found.rows} rows of {args.run_dir}: {names} recomputed from its PNGs match (largest gap {largest})"
    )
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from .datasets.check import check_dataset

    report = check_dataset(args.name, args.path, progress=not args.no_progress)
    print(report.format())
    return 0 if report.complete else 1


def _check_set_options(args: argparse.Namespace) -> None:
    """``freeze`` and ``export`` write the images a run will use: the same bounds as ``run``."""
    check_image_size(args.image_size)
    check_positive("--limit", args.limit)


def cmd_freeze(args: argparse.Namespace) -> int:
    from .datasets.evalset import MANIFEST
    from .frozen import freeze

    _check_set_options(args)
    manifest = freeze(args.dataset, args.masks, args.image_size, args.seed, args.limit, args.out)
    print(
        f"froze {len(manifest['images'])} images x {len(manifest['regimes'])} mask regimes into {args.out}"
        f" ({MANIFEST}); evaluate with --dataset evalset:{args.out} --image-size {args.image_size}"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    _check_set_options(args)
    manifest = export(args.dataset, args.masks, args.image_size, args.seed, args.limit, args.out)
    n_images = len(next(iter(manifest["regimes"].values()))["images"])
    print(f"exported {n_images} images x {len(manifest['regimes'])} mask regimes into {args.out}:")
    for spec, regime in manifest["regimes"].items():
        print(f"  {spec}: {args.out / regime['folder']}")
    limit = f" --limit {args.limit}" if args.limit is not None else ""
    print(
        "write predictions as PRED/<the same folder>/NAME_mask000.png (or NAME.png), then score them with: "
        f"inpaintbench run --model predictions:PRED --dataset {args.dataset} --masks {','.join(args.masks)} "
        f"--image-size {args.image_size} --seed {args.seed}{limit}"
    )
    return 0


def cmd_masks(args: argparse.Namespace) -> int:
    from .masks.tools import check_preview_out, check_sample, mask_stats, preview_grid, sample_masks
    from .plugins import get_registry

    registry = get_registry()
    count = args.n
    check_positive("-n/--n", count)
    check_image_size(args.image_size)
    check_names(f"masks {args.masks_command}", args.regimes)
    check_sample("-n/--n", count, args.image_size)
    if args.masks_command == "preview":
        check_preview_out(args.out)
    drawn = [
        (spec, sample_masks(registry.get("mask", spec), spec, count, args.image_size, args.seed))
        for spec in args.regimes
    ]
    if args.masks_command == "preview":
        preview_grid(drawn, args.out)
        print(f"{count} masks of each of {len(drawn)} regimes at {args.image_size} px written to {args.out}")
    else:
        print("\n\n".join(mask_stats(spec, masks).format() for spec, masks in drawn))
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import create_plugin, package_name

    out = args.out or Path(args.name)
    written = create_plugin(args.name, out)
    print(f"plugin '{args.name}' (package and entry point '{package_name(args.name)}') written to {out}:")
    print("\n".join(f"  {path}" for path in written))
    print(f"next: pip install -e {out} && pytest {out}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "train": cmd_train,
    "report": cmd_report,
    "rescore": cmd_rescore,
    "plugins": cmd_plugins,
    "list": cmd_list,
    "datasets": cmd_datasets,
    "freeze": cmd_freeze,
    "export": cmd_export,
    "masks": cmd_masks,
    "new": cmd_new,
}


def main(argv: list[str] | None = None) -> int:
    from .boundary import guarded

    # Before torch loads OpenMP: waiting threads sleep instead of spinning. Spinning waiters held the
    # cores against any other process; a CPU training step under load took 17.4 s spinning and 6.3 s
    # sleeping (1.11 against 1.15 s on a quiet machine), with bit-identical weights.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = sys.argv[1:] if argv is None else argv
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a path given as non-UTF-8 bytes is printed escaped, not a crash
        reconfigure(errors="backslashreplace")
    args = build_parser(_registry_for_flags()).parse_args(argv)
    args.argv = argv
    return guarded(lambda: COMMANDS[args.command](args), argv, args.debug)


def _registry_for_flags(announce: bool = True) -> Registry | None:
    """The plugin registry, for the flags its models declare (no torch is imported); None when it cannot
    be built, so the command itself reports why, as one line. ``announce``: print the flags skipped."""
    from .plugins import get_registry

    try:
        registry = get_registry()
    except InpaintbenchError:
        return None
    for line in model_flags(registry)[1] if announce else []:
        warn(line)
    return registry


if __name__ == "__main__":
    sys.exit(main())
