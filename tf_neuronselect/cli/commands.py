"""``neuronselect``: train, inspect, shrink, export and benchmark from the command line.

Exit codes: 0 success, 2 usage error (argparse), 1 failure with a one-line message
(``--debug`` shows the traceback).
"""

import argparse
import os
import re
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tf_neuronselect.examples import recipes  # noqa: E402

QUANTIZE_CHOICES = ("float16", "dynamic", "int8")


class CliError(Exception):
    """A failure the user can fix; printed as one line, exit code 1."""


def load_keras_file(path):
    """Loads a ``.keras`` model, with an error that says what was wrong with the file."""
    import keras

    import tf_neuronselect  # noqa: F401  (registers the custom classes before loading)

    if os.path.isdir(path):
        raise CliError(f"expected a .keras model file, but {path!r} is a directory. Pass the "
                       "model file itself (save it with model.save('name.keras'))")
    if not os.path.isfile(path):
        raise CliError(f"expected a .keras model file, but {path!r} does not exist")
    if not zipfile.is_zipfile(path) or "config.json" not in _zip_names(path):
        raise CliError(f"expected a .keras model file (a zip with config.json); {path!r} is not one."
                       " Save models with model.save('name.keras')")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # Keras raises many types for configs it cannot rebuild
        raise CliError(_load_failure(path, error)) from error


def _zip_names(path):
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def _saved_keras_version(path):
    import json

    try:
        with zipfile.ZipFile(path) as archive:
            return str(json.loads(archive.read("metadata.json"))["keras_version"])
    except Exception:  # no or unreadable metadata: the version is simply unknown
        return None


def _version_tuple(version):
    parts = re.findall(r"\d+", version or "")[:3]
    return tuple(int(p) for p in parts)


def _load_failure(path, error):
    """One line: what the file holds that this installation cannot rebuild, and how to fix it."""
    import json

    import keras

    chain = [error]
    while (chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    root = chain[-1]
    text = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    damaged = "the file is damaged or incomplete: copy it again, or save the model again with " \
        "model.save('name.keras')"
    if any(isinstance(e, json.JSONDecodeError) for e in chain):
        return (f"could not load {path!r}: expected a .keras file whose config.json is valid "
                f"JSON; received an unreadable config.json ({text}). How to fix: {damaged}")
    if isinstance(root, OSError):
        return (f"could not load {path!r}: expected a .keras file whose weights can be read; "
                f"received unreadable weights ({text}). How to fix: {damaged}")
    unknown = (re.search(r"Could not locate class '([^']+)'", text)
               or re.search(r"Could not deserialize '([^']+)' because", text))
    arguments = re.search(r"Unrecognized keyword arguments passed to (\w+): (.*)", text)
    if unknown:
        problem = f"it uses the class '{unknown.group(1)}', which is not registered"
    elif arguments:
        problem = (f"its {arguments.group(1)} config has arguments this version does not "
                   f"accept: {arguments.group(2)}")
    else:
        problem = f"loading fails with: {text}"
    installed, saved = keras.__version__, _saved_keras_version(path)
    received = f"a file saved with Keras {saved or 'of unknown version'}"
    if saved and _version_tuple(saved) > _version_tuple(installed):
        fix = (f"upgrade to Keras >= {saved} (pip install -U 'keras>={saved}'), or re-save the "
               f"model with Keras {installed}")
    elif unknown:
        fix = ("import the module that defines that class (registered with "
               "@keras.saving.register_keras_serializable) before loading, or re-save the model "
               "without it")
    else:
        fix = "load it with the Keras and tf_neuronselect versions that saved it and re-save it"
    return (f"could not load {path!r}: expected a model config that Keras {installed} can "
            f"rebuild; received {received} in which {problem}. How to fix: {fix}")


def _cmd_report(args):
    import tf_neuronselect as ns

    result = ns.report(load_keras_file(args.model), tol=args.tol, prune_inputs=args.prune_inputs)
    if args.json:
        import json

        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result)


def _cmd_shrink(args):
    import tf_neuronselect as ns

    if os.path.exists(args.output) and not args.overwrite:
        raise CliError(f"expected --output to be a new file, but {args.output!r} exists; "
                       "pass --overwrite to replace it")
    model = load_keras_file(args.model)
    compact = ns.shrink(model, tol=args.tol, round_to=args.round_to,
                        prune_inputs=args.prune_inputs)
    tmp = f"{args.output}.tmp-{os.getpid()}.keras"
    compact.save(tmp)
    os.replace(tmp, args.output)
    print(f"wrote {args.output}: {model.count_params():,} -> {compact.count_params():,} parameters")


def _representative(path):
    import numpy as np

    if path is None:
        return None
    with np.load(path) as arrays:
        key = "x" if "x" in arrays else list(arrays.keys())[0]
        return arrays[key]


def _cmd_export(args):
    import tf_neuronselect as ns

    model = load_keras_file(args.model)
    manifest = ns.export(model, args.output, quantize=tuple(args.quantize) or None,
                         representative_data=_representative(args.representative),
                         overwrite=args.overwrite)
    for name, info in sorted(manifest["files"].items()):
        print(f"{name}: {info['bytes']:,} bytes")
    print(f"wrote {args.output}")


def _cmd_bench(args):
    import tf_neuronselect as ns

    for path in (args.original, args.compact):
        if not os.path.exists(path):
            raise CliError(f"expected a .tflite or .keras file, but {path!r} does not exist")
    original, compact = (load_keras_file(p) if p.endswith(".keras") else p
                         for p in (args.original, args.compact))
    print(ns.benchmark(original, compact, batch_sizes=tuple(args.batch_sizes),
                       threads=tuple(args.threads), rounds=args.rounds))


def _cmd_demo(args):
    from tf_neuronselect.cli import demo

    demo.run(args)


def _add_demo(sub):
    p = sub.add_parser("demo", help="train a network with a method, shrink it, export it, report",
                       description="The main job: train LeNet-5 (lenet5) or LeNet-300-100 (mlp) "
                       "with a neuron-selection method, remove the dead units, export Keras / "
                       "SavedModel / TFLite, and print a before/after table.")
    p.add_argument("--dataset", choices=("mnist", "digits"), default=None,
                   help="default: MNIST when a local copy is found, else scikit-learn digits")
    p.add_argument("--arch", choices=recipes.ARCHITECTURES, default=None,
                   help="lenet5 (conv, default for MNIST), mlp (LeNet-300-100, default for "
                   "digits) or vgg (5 conv layers, ~10x LeNet-5's multiply-adds)")
    p.add_argument("--method", choices=recipes.METHODS, default="group-lasso",
                   help="neuron-selection method (default: group-lasso)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default per dataset)")
    p.add_argument("--strength", type=float, default=None, help="penalty strength (default per method)")
    p.add_argument("--out", default="saved_models/demo", help="export directory")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export directory")
    p.add_argument("--data", default=None, help="path to mnist.npz or IDX files")
    p.set_defaults(handler=_cmd_demo)


def _add_prune_inputs(parser):
    parser.add_argument("--prune-inputs", action="store_true",
                        help="also drop unused model-input features (a SelectFeatures layer "
                        "after the input or its Flatten; the result then needs "
                        "tf_neuronselect to load)")


def build_parser():
    parser = argparse.ArgumentParser(prog="neuronselect", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(sub)
    p = sub.add_parser("report", help="units alive per layer, parameters and multiply-adds")
    p.add_argument("model", help="a .keras file")
    p.add_argument("--tol", type=float, default=0.0, help="group norm at or below which a unit is dead")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_prune_inputs(p)
    p.set_defaults(handler=_cmd_report)
    p = sub.add_parser("shrink", help="remove dead units; writes a smaller .keras model")
    p.add_argument("model", help="a .keras file")
    p.add_argument("-o", "--output", required=True, help="output .keras file")
    p.add_argument("--tol", type=float, default=0.0)
    p.add_argument("--round-to", type=int, default=None, help="keep channel counts at multiples of N")
    p.add_argument("--overwrite", action="store_true")
    _add_prune_inputs(p)
    p.set_defaults(handler=_cmd_shrink)
    p = sub.add_parser("export", help="write .keras, SavedModel and TFLite files plus a manifest")
    p.add_argument("model", help="a .keras file")
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--quantize", nargs="*", choices=QUANTIZE_CHOICES, default=[])
    p.add_argument("--representative", default=None, help=".npz with input samples (key x) for int8")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(handler=_cmd_export)
    p = sub.add_parser("bench", help="time two TFLite (or .keras) models with LiteRT")
    p.add_argument("original")
    p.add_argument("compact")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--rounds", type=int, default=15)
    p.set_defaults(handler=_cmd_bench)
    return parser


def _version():
    from tf_neuronselect import __version__

    return f"neuronselect {__version__}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print("neuronselect: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"neuronselect: error: {message or type(error).__name__}", file=sys.stderr)
        return 1
    return 0


def entry_point():
    """Console-script entry: exits with ``main``'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
