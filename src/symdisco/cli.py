"""The `symdisco` command: datasets, discover, report, verify, bench, downstream.

Bad input ends with one line on stderr and exit code 2; nothing is written to the output
folder before the data and options have been checked.
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from .errors import UserInputError
from .out_folder import check_out_folder

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (no usage dump) and exit 2."""

    def error(self, message):
        raise UserInputError(f"{message} (see `{self.prog} --help`)")


def _key_values(pairs: list[str] | None, what: str) -> dict:
    options = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UserInputError(f"{what} must look like KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        options[key.strip().replace("-", "_")] = value.strip()
    return options


def _method_flags() -> dict:
    """Method-specific flags: the union of every method's CLI_OPTIONS (keyword -> (type, help))."""
    from . import methods

    classes = {}
    for name in methods.names():
        try:
            classes[name] = methods.get(name)
        except (ImportError, AttributeError):  # a method whose module is not there yet
            continue
    flags: dict = {}
    for cls in classes.values():
        for key, (kind, help_text) in getattr(cls, "CLI_OPTIONS", {}).items():
            flags.setdefault(key, (kind, help_text))
    def owns(cls, key):
        accepted = inspect.signature(cls.__init__).parameters
        return key in accepted or (key in _LAW_FLAGS and "law" in accepted)

    return {key: (kind, help_text, [name for name, cls in classes.items() if owns(cls, key)])
            for key, (kind, help_text) in flags.items()}


def _bool(text: str) -> bool:
    lowered = str(text).lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _hardware_flags(parser) -> None:
    """Where training runs (Lightning Fabric's flags); --device is the one-flag shorthand."""
    group = parser.add_argument_group("devices (Lightning Fabric; see README: Multi-device and cluster)")
    group.add_argument("--device", default="cpu", help="shorthand: cpu, cuda, cuda:1, mps or auto")
    group.add_argument("--accelerator", default=None, help="cpu, cuda (gpu), mps or auto (overrides --device)")
    group.add_argument("--devices", default=None, metavar="N",
                       help="devices per node: a count, -1 for all, or indices 0,1 (default 1; under torchrun its "
                            "process count)")
    group.add_argument("--strategy", default=None, help="auto (one device) or ddp (one process per device)")
    group.add_argument("--num-nodes", type=int, default=None, metavar="N", help="machines (SLURM, torchrun)")
    group.add_argument("--precision", default=None, help="32-true (default), bf16-mixed, 16-mixed (autocast)")
    group.add_argument("--logger", default=None, choices=["csv", "tensorboard"],
                       help="also log the losses through Fabric's logger into DIR/logs")


def _hardware(args):
    from .training import Hardware

    return Hardware.from_device(args.device, accelerator=args.accelerator, devices=args.devices,
                                strategy=args.strategy, num_nodes=args.num_nodes, precision=args.precision,
                                logger=args.logger)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symdisco", description="Discover the Lie-group symmetries hidden in a dataset.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("datasets", help="list the built-in datasets with sizes and ground truth",
                   description="List the built-in datasets with their sizes, task, action and ground truth.")

    discover = sub.add_parser("discover", help="discover the symmetry of a dataset",
                              description="Discover the symmetry of DATA (a built-in name or a .npz/.csv/.h5/.pt file) "
                                          "and write DIR/result.json, generators.npy and figures.")
    discover.add_argument("data", metavar="DATA", help="built-in dataset name or path to a data file")
    discover.add_argument("--method", default="liegan",
                          help="liegan, liesd (closed form), auto (closed form, else LieGAN), lienlsd, "
                               "symmetrygan, augerino, latent, lconv, augmenter")
    discover.add_argument("--generators", type=int, default=None, metavar="K", help="number of generators")
    discover.add_argument("--epochs", type=int, default=None, metavar="N", help="training epochs (upper bound)")
    discover.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (runs are repeatable)")
    _hardware_flags(discover)
    discover.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/DATA-METHOD)")
    discover.add_argument("--x-key", default=None, help="name of the input array in a data file (default x)")
    discover.add_argument("--y-key", default=None, help="name of the target array in a data file (default y)")
    discover.add_argument("--data-option", "-D", action="append", metavar="KEY=VALUE",
                          help="dataset option, e.g. -D k=7 for discrete-rotation (repeatable)")
    discover.add_argument("--quiet", action="store_true", help="no progress bar")
    discover.add_argument("--restart", action="store_true",
                          help="start from scratch: keep an earlier run's checkpoints and logs in DIR aside")
    discover.add_argument("--no-standardize", dest="standardize", action="store_false", default=None,
                          help="train on the data as given, without rescaling them to unit scale first")
    for key, (kind, help_text, owners) in sorted(_method_flags().items()):
        flag = "--" + key.replace("_", "-")
        extra = {"nargs": "?", "const": True, "type": _bool} if kind is bool else {"type": kind}
        discover.add_argument(flag, dest=f"method_{key}", default=None, metavar=key.upper(),
                              help=f"{help_text} [{', '.join(owners)}]", **extra)

    report = sub.add_parser("report", help="figures and a readable summary of result folders",
                            description="Print a readable summary of each DIR/result.json and write the "
                                        "report's own files there (report.md, report_*.png); with --html, "
                                        "one self-contained page comparing the runs side by side instead. "
                                        "result.json is never rewritten.")
    report.add_argument("directory", metavar="DIR", nargs="+")
    report.add_argument("--html", default=None, metavar="PAGE.html",
                        help="write one page comparing every DIR (figures embedded, no network)")

    verify = sub.add_parser("verify", help="check each found generator on data it was not found from",
                            description="Check every generator of DIR/result.json: a predictor fitted on DATA's test "
                                        "split (not used for discovery) and a fresh discriminator, against random "
                                        "directions; flags spurious generators and writes DIR/verify.json.")
    verify.add_argument("directory", metavar="DIR")
    verify.add_argument("data", metavar="DATA", nargs="?", default=None,
                        help="built-in name or data file (default: the dataset named in result.json)")
    verify.add_argument("--data-option", "-D", action="append", metavar="KEY=VALUE")
    verify.add_argument("--x-key", default=None)
    verify.add_argument("--y-key", default=None)
    verify.add_argument("--eps", type=float, default=0.2, help="size of the test transformations exp(eps L)")
    verify.add_argument("--no-judge", action="store_true", help="skip the discriminator test (faster)")
    verify.add_argument("--seed", type=int, default=0)

    bench = sub.add_parser("bench", help="all methods on known-truth tasks",
                           description="Run the discovery methods on tasks with known symmetry; print a table "
                                       "and write JSON.")
    bench.add_argument("--quick", action="store_true", help="small, fast configurations")
    bench.add_argument("--out", default="runs/bench", metavar="DIR")
    bench.add_argument("--seed", type=int, default=0)

    downstream = sub.add_parser("downstream", help="use a symmetry in prediction (the paper's tables)",
                                description="Train plain and symmetry-aware models on NAME (nbody2, lorentz-jets or rotated-digits) "
                                            "and write DIR/table.json and DIR/table.md.")
    downstream.add_argument("name", metavar="NAME")
    downstream.add_argument("--out", required=True, metavar="DIR")
    downstream.add_argument("--epochs", type=int, default=None)
    downstream.add_argument("--seed", type=int, default=0)
    _hardware_flags(downstream)
    downstream.add_argument("--result", default=None, metavar="RESULT_DIR",
                            help="use this saved discovery instead of running LieGAN")
    downstream.add_argument("--data-option", "-D", action="append", metavar="KEY=VALUE")
    downstream.add_argument("--quiet", action="store_true")
    return parser


def cmd_datasets(args) -> int:
    from . import datasets

    rows = datasets.describe_all()
    print(f"{'name':<20} {'task':<15} {'action':<8} {'train x':<16} {'test x':<16} ground truth")
    for row in rows:
        sizes = row["sizes"]
        print(f"{row['name']:<20} {row['task']:<15} {row['action']:<8} {str(sizes['train']['x']):<16} "
              f"{str(sizes['test']['x']):<16} {row['ground_truth'] or '-'}")
    return 0


_LAW_FLAGS = ("law_scale", "law_step", "max_steps", "learn_law")


def _method_kwargs(args, cls) -> dict:
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {}
    common = {"n_generators": args.generators, "epochs": args.epochs, "seed": args.seed, "device": args.device,
              "standardize": getattr(args, "standardize", None)}
    for key, value in common.items():
        if value is not None and key in accepted:
            kwargs[key] = value
        elif value is not None and key not in ("seed", "device", "standardize"):
            raise UserInputError(f"--{key.replace('n_', '').replace('_', '-')} does not apply to method {cls.name}")
    options = {key[len("method_"):]: value for key, value in vars(args).items()
               if key.startswith("method_") and value is not None}
    law_flags = {key: options.pop(key) for key in _LAW_FLAGS if key in options}
    if law_flags and "law" in accepted and "law_scale" not in accepted:  # shorthand for a law object
        from .methods.knobs import law_shorthand

        kwargs["law"] = law_shorthand(options.pop("law", "normal"), scale=law_flags.get("law_scale"),
                                      step=law_flags.get("law_step"), max_steps=law_flags.get("max_steps"),
                                      learnable=law_flags.get("learn_law"))
    else:
        options.update(law_flags)
    for option, value in options.items():
        if option not in accepted:
            raise UserInputError(f"--{option.replace('_', '-')} does not apply to method {cls.name}")
        kwargs[option] = value
    return kwargs


def _flag_names(message: str, kwargs: dict) -> str:
    """'liegan: n_generators must be ...' -> 'liegan: n_generators (--generators) must be ...'."""
    for key in kwargs:
        flag = "--generators" if key == "n_generators" else "--" + key.replace("_", "-")
        if f": {key} must" in message:
            return message.replace(f": {key} must", f": {key} ({flag}) must", 1)
    return message


def cmd_discover(args) -> int:
    from . import datasets, methods
    from .training import locked, set_aside_run

    hardware = _hardware(args)
    options = _key_values(args.data_option, "--data-option")
    if args.x_key is not None:
        options["x_key"] = args.x_key
    if args.y_key is not None:
        options["y_key"] = args.y_key
    dataset = datasets.load(args.data, **options)
    cls = methods.get(args.method)
    kwargs = _method_kwargs(args, cls)
    try:
        method = cls(**kwargs)                  # knobs are checked here...
    except UserInputError as error:             # ...named as the command line spells them
        raise UserInputError(_flag_names(str(error), kwargs)) from None
    method.check(dataset)                       # ...and against the data, before anything is written
    out = check_out_folder(args.out or f"runs/{Path(args.data).stem}-{args.method}")
    rank0 = hardware.is_global_zero
    with locked(out if rank0 else None):  # before any process starts: a second run exits 2 here
        hardware.fabric()  # launches the other processes (--devices N --strategy ddp)
        if args.restart and rank0:
            set_aside_run(out)
        takes_hardware = "hardware" in inspect.signature(method.fit).parameters  # closed-form methods do not train
        result = method.fit(dataset, out=out, progress=not args.quiet, **({"hardware": hardware} if takes_hardware
                                                                           else {}))
        if not hardware.is_global_zero:
            return 0
        result.extras["data_options"] = options   # `verify` reloads the same data with them
        result.save(out)
    print(result)
    _print_readable_extras(result.extras)
    print(f"wrote {out / 'result.json'}")
    return 0


def _print_readable_extras(extras: dict) -> None:
    """What a person reads before any matrix: discovered equations and vector fields."""
    equations = extras.get("equation") or extras.get("equations")
    if equations:
        print("equation(s):", *([equations] if isinstance(equations, str) else equations), sep="\n  ")
    fields = extras.get("vector_fields")
    if fields:
        print("vector fields:", *(f.get("text", "") for f in fields), sep="\n  ")


def cmd_report(args) -> int:
    from .html_report import write_page
    from .saved_runs import load_run
    from .report import summary_text, write_files

    runs = [load_run(directory) for directory in args.directory]  # every folder checked first
    if args.html is not None:
        page = write_page(runs, args.html)
        print(f"wrote {page} ({len(runs)} run(s))")
        return 0
    for run in runs:
        text = summary_text(run)
        print(text)
        try:
            written = write_files(run, text)
        except OSError as exc:
            print(f"symdisco: note: {run['directory']}: cannot write the report files there "
                  f"({exc.strerror or exc}); the summary above is all there is", file=sys.stderr)
        else:
            print(f"wrote {', '.join(written)} in {run['directory']}")
    return 0


def cmd_verify(args) -> int:
    from . import datasets
    from .io_utils import atomic_write_json
    from .result import SymmetryResult
    from .verify import format_report, verify

    result = SymmetryResult.load(args.directory)
    options = _key_values(args.data_option, "--data-option")
    for key in ("x_key", "y_key"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    name = args.data or result.dataset
    if args.data is None or Path(args.data).name == result.dataset:   # the run's own data: as it was loaded
        options = {**result.extras.get("data_options", {}), **options}
    if args.data is None and name not in datasets.names() and not Path(name).is_file():
        raise UserInputError(f"{args.directory}: dataset {name!r} is not built in; give the data file as DATA")
    dataset = datasets.load(name, **options)
    if result.algebra.k and result.algebra.n != dataset.x_action().base_dim(dataset.x[:1]):
        raise UserInputError(f"{args.directory}: generators are {result.algebra.n}x{result.algebra.n} but "
                             f"{name} needs {dataset.x_action().base_dim(dataset.x[:1])}x"
                             f"{dataset.x_action().base_dim(dataset.x[:1])}")
    if not args.eps > 0:
        raise UserInputError(f"--eps must be > 0, got {args.eps}")
    report = verify(result, dataset, eps=args.eps, judge=not args.no_judge, seed=args.seed)
    atomic_write_json(Path(args.directory) / "verify.json", report)
    print(format_report(report))
    print(("no generators to check (the run found no symmetry)" if not report["generators"] else
           "all generators hold" if report["passed"] else
           f"spurious: {', '.join(f'L{i + 1}' for i in report['flagged'])}") + f"; wrote {args.directory}/verify.json")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench

    run_bench(args.out, quick=args.quick, seed=args.seed)
    return 0


def cmd_downstream(args) -> int:
    from .experiments import downstream

    options = _key_values(args.data_option, "--data-option")
    downstream.run(args.name, args.out, epochs=args.epochs, seed=args.seed, device=args.device,
                   progress=not args.quiet, result=args.result, hardware=_hardware(args), **options)
    return 0


COMMANDS = {"datasets": cmd_datasets, "discover": cmd_discover, "report": cmd_report, "verify": cmd_verify,
            "bench": cmd_bench,
            "downstream": cmd_downstream}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings meant for the user as one line, like errors (no file and line of the library)."""
    text = str(message).splitlines()[0] if str(message) else category.__name__
    print(f"symdisco: warning: {text}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args = build_parser().parse_args(argv)
            return COMMANDS[args.command](args)
    except UserInputError as exc:
        print(f"symdisco: error: {str(exc).splitlines()[0] if str(exc) else 'bad input'}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("symdisco: interrupted (a run with --out resumes from its last checkpoint)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
