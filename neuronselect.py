"""``neuronselect``: train, inspect, shrink, export and benchmark from the command line.

This launcher builds the argument parser with the standard library only, so ``--help`` and
usage errors answer at once; Keras and TensorFlow are imported only to run a command
(``tf_neuronselect.cli.commands``). Exit codes: 0 success, 2 usage error (argparse), 1 failure
with a one-line message (``--debug`` shows the traceback), 130 interrupted.
"""

import argparse
import os
import sys

# The choices of the commands, written here so the parser needs no import of the library;
# tests/test_cli.py ties each to the library's own list.
METHODS = ("group-lasso", "sparse-group-lasso", "li-lo", "gate", "tri-state", "dense")
ARCHITECTURES = ("lenet5", "mlp", "vgg")
DATASETS = ("mnist", "digits")
QUANTIZE_CHOICES = ("float16", "dynamic", "int8")
COMPRESS_METHODS = ("auto", "prune", "penalty")
DISTRIBUTION = "tf-neuronselect"


def _add_demo(sub):
    p = sub.add_parser("demo", help="train a network with a method, shrink it, export it, report",
                       description="The main job: train LeNet-5 (lenet5) or LeNet-300-100 (mlp) "
                       "with a neuron-selection method, remove the dead units, export Keras / "
                       "SavedModel / TFLite, and print a before/after table.")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="default: MNIST when a local copy is found, else scikit-learn digits")
    p.add_argument("--arch", choices=ARCHITECTURES, default=None,
                   help="lenet5 (conv, default for MNIST), mlp (LeNet-300-100, default for "
                   "digits) or vgg (5 conv layers, ~10x LeNet-5's multiply-adds)")
    p.add_argument("--method", choices=METHODS, default="group-lasso",
                   help="neuron-selection method (default: group-lasso)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default per dataset)")
    p.add_argument("--strength", type=float, default=None, help="penalty strength (default per method)")
    p.add_argument("--out", default="saved_models/demo", help="export directory")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export directory")
    p.add_argument("--data", default=None, help="path to mnist.npz or IDX files")


def _add_prune_inputs(parser):
    parser.add_argument("--prune-inputs", action="store_true",
                        help="also drop unused model-input features (a SelectFeatures layer "
                        "after the input or its Flatten; the result then needs "
                        "tf_neuronselect to load)")


def _add_report_and_shrink(sub):
    p = sub.add_parser("report", help="units alive per layer, parameters and multiply-adds")
    p.add_argument("model", help="a .keras file")
    p.add_argument("--tol", type=float, default=0.0, help="group norm at or below which a unit is dead")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_prune_inputs(p)
    p = sub.add_parser("shrink", help="remove dead units; writes a smaller .keras model")
    p.add_argument("model", help="a .keras file")
    p.add_argument("-o", "--output", required=True, help="output .keras file")
    p.add_argument("--tol", type=float, default=0.0)
    p.add_argument("--round-to", type=int, default=None, help="keep channel counts at multiples of N")
    p.add_argument("--overwrite", action="store_true")
    _add_prune_inputs(p)


def _add_export_and_bench(sub):
    p = sub.add_parser("export", help="write .keras, SavedModel and TFLite files plus a manifest")
    p.add_argument("model", help="a .keras file")
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--quantize", nargs="*", choices=QUANTIZE_CHOICES, default=[])
    p.add_argument("--representative", default=None, help=".npz with input samples (key x) for int8")
    p.add_argument("--overwrite", action="store_true")
    p = sub.add_parser("bench", help="time two TFLite (or .keras) models with LiteRT")
    p.add_argument("original")
    p.add_argument("compact")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--rounds", type=int, default=15)


def _add_compress(sub):
    p = sub.add_parser("compress", help="compress a trained model: prune or penalize, "
                       "fine-tune, export", description="Compress a trained, compiled .keras "
                       "model to a size or latency target with fine-tuning (ns.compress), then "
                       "export the compact model (Keras, SavedModel, TFLite, manifest) and "
                       "compression.json.")
    p.add_argument("model", help="a compiled .keras file")
    p.add_argument("--data", required=True, help=".npz with x and y (or x_train and y_train); "
                   "x_val / y_val (or x_test / y_test) are used for validation when present")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--params", type=float, help="share of the parameters to keep (0-1)")
    target.add_argument("--macs", type=float, help="share of the multiply-adds to keep (0-1)")
    target.add_argument("--latency", type=float, help="share of the latency to keep (0-1)")
    p.add_argument("--epochs", type=int, default=5, help="fine-tuning epochs in all")
    p.add_argument("--method", choices=COMPRESS_METHODS, default="auto")
    p.add_argument("--distill", action="store_true", help="train with the original as teacher")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true")


def _version():
    from importlib import metadata

    try:
        return f"neuronselect {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        return "neuronselect (version unknown: tf-neuronselect is not installed)"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="neuronselect",
        description="Train, inspect, shrink, export and benchmark from the command line.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(sub)
    _add_report_and_shrink(sub)
    _add_export_and_bench(sub)
    _add_compress(sub)
    return parser


def _run(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tf_neuronselect.cli import commands

    getattr(commands, args.command)(args)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        _run(args)
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
