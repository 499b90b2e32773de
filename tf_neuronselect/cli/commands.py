"""What each ``neuronselect`` command does; the argument parser is the launcher
``neuronselect.py`` (outside the package, so ``--help`` never imports Keras or TensorFlow).

A failure the user can fix raises an exception whose first line is the message; the launcher
prints it as one line and exits with code 1.
"""

import os
import re
import zipfile


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


def report(args):
    import tf_neuronselect as ns

    result = ns.report(load_keras_file(args.model), tol=args.tol, prune_inputs=args.prune_inputs)
    if args.json:
        import json

        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result)


def shrink(args):
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


def export(args):
    import tf_neuronselect as ns

    model = load_keras_file(args.model)
    manifest = ns.export(model, args.output, quantize=tuple(args.quantize) or None,
                         representative_data=_representative(args.representative),
                         overwrite=args.overwrite)
    for name, info in sorted(manifest["files"].items()):
        print(f"{name}: {info['bytes']:,} bytes")
    print(f"wrote {args.output}")


def bench(args):
    import tf_neuronselect as ns

    for path in (args.original, args.compact):
        if not os.path.exists(path):
            raise CliError(f"expected a .tflite or .keras file, but {path!r} does not exist")
    original, compact = (load_keras_file(p) if p.endswith(".keras") else p
                         for p in (args.original, args.compact))
    print(ns.benchmark(original, compact, batch_sizes=tuple(args.batch_sizes),
                       threads=tuple(args.threads), rounds=args.rounds))


def demo(args):
    from tf_neuronselect.cli import demo as demo_command

    demo_command.run(args)


def _training_arrays(path):
    import numpy as np

    if not os.path.isfile(path):
        raise CliError(f"expected an .npz data file, but {path!r} does not exist")
    with np.load(path) as arrays:
        names = set(arrays.files)
        pairs = [("x", "y"), ("x_train", "y_train")]
        train = next(((arrays[a], arrays[b]) for a, b in pairs if {a, b} <= names), None)
        validation = next(((arrays[a], arrays[b]) for a, b in (("x_val", "y_val"),
                           ("x_test", "y_test")) if {a, b} <= names), None)
    if train is None:
        raise CliError(f"expected {path!r} to hold arrays x and y (or x_train and y_train); "
                       f"it holds {sorted(names)}")
    return train, validation


def compress(args):
    import json

    import tf_neuronselect as ns

    if os.path.exists(args.out) and not args.overwrite:
        raise CliError(f"expected --out to be a new directory, but {args.out!r} exists; "
                       "pass --overwrite to replace it")
    model = load_keras_file(args.model)
    train, validation = _training_arrays(args.data)
    target = {k: getattr(args, k) for k in ("params", "macs", "latency")
              if getattr(args, k) is not None}
    print(f"compressing {model.name} ({model.count_params():,} parameters) to {target} in "
          f"{args.epochs} epochs")
    compact, record = ns.compress(model, train, **target, epochs=args.epochs,
                                  validation_data=validation, method=args.method,
                                  distill=args.distill, batch_size=args.batch_size, verbose=1)
    ns.export(compact, args.out, overwrite=args.overwrite)
    path = os.path.join(args.out, "compression.json")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as handle:
        json.dump(record.to_dict(), handle, indent=2)
    os.replace(tmp, path)
    for phase in record.phases:
        print(f"  {phase['phase']}: {phase['params']:,} parameters, {phase['macs']:,} MACs")
    print(f"wrote {args.out}: {model.count_params():,} -> {compact.count_params():,} "
          f"parameters ({record.method})")
