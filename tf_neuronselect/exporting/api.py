"""``export``: one call that writes every deployable artifact of a model, atomically."""

import tempfile
from pathlib import Path

import keras

from tf_neuronselect.exporting import atomic
from tf_neuronselect.exporting import evaluate
from tf_neuronselect.exporting import litert
from tf_neuronselect.exporting import manifest as manifest_lib
from tf_neuronselect.exporting import representative
from tf_neuronselect.exporting import saved_model
from tf_neuronselect.exporting import tflite
from tf_neuronselect.utils.validation import validate_choice

FORMATS = ("keras", "saved_model", "tflite")
KERAS_NAME = "model.keras"
SAVED_MODEL_NAME = "saved_model"


def export(
    model,
    directory,
    formats=FORMATS,
    quantize=None,
    representative_data=None,
    overwrite=False,
    evaluation_data=None,
):
    """Writes ``model`` to ``directory`` as ``.keras``, SavedModel and TFLite files.

    Everything is built in a hidden temporary directory next to ``directory`` and renamed into
    place at the end, so a failed export leaves any previous artifacts byte-identical.

    Args:
        model: a built ``keras.Model`` (its inputs must be known).
        directory: target directory; it must not exist unless ``overwrite=True``.
        formats: any of "keras" (``model.keras``), "saved_model" (``saved_model/``, serving
            signature) and "tflite" (``model_float32.tflite`` plus one file per ``quantize``).
        quantize: None, "float16", "dynamic", "int8" or a tuple of these.
        representative_data: calibration inputs for "int8": an array of samples or a callable /
            iterable yielding input batches.
        overwrite: replace an existing ``directory``.
        evaluation_data: optional ``(x, y)``; the argmax accuracy of the Keras model and of
            each TFLite file is recorded.

    Returns:
        The manifest dict, also written to ``directory/manifest.json``.
    """
    formats = _check_formats(formats)
    variants = _check_variants(formats, tflite.normalize_quantize(quantize))
    _check_model(model)
    batches = None
    if "int8" in variants:
        batches = representative.calibration_batches(representative_data, model)
    if evaluation_data is not None:
        evaluation_data = evaluate.check_evaluation_data(evaluation_data)
    with atomic.atomic_directory(directory, overwrite) as staging:
        names = _write_formats(model, staging, formats, variants, batches)
        manifest = _build_manifest(model, staging, names, variants, evaluation_data)
        manifest["formats"] = list(formats)
        manifest_lib.write_manifest(manifest, staging)
    return manifest


def _check_formats(formats):
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    if not formats:
        raise ValueError(
            f"export: expected at least one of `formats` {FORMATS}. Received: formats=(). "
            "Pass e.g. formats=('saved_model', 'tflite')."
        )
    for name in formats:
        validate_choice(name, "formats", FORMATS, "export")
    return formats


def _check_variants(formats, quantize):
    if quantize and "tflite" not in formats:
        raise ValueError(
            f"export: expected 'tflite' in `formats` when quantizing. Received: "
            f"formats={formats}, quantize={quantize}. Add 'tflite' to formats or drop quantize."
        )
    return ("float32",) + quantize if "tflite" in formats else ()


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(
            "export: expected `model` to be a keras.Model. Received: "
            f"{type(model).__name__}. Pass the trained (and compacted) Keras model."
        )
    try:
        known = bool(model.inputs)
    except (AttributeError, ValueError):
        known = False
    if not known:
        raise ValueError(
            "export: expected a Functional or Sequential model with known inputs. Received: "
            f"model '{model.name}' ({type(model).__name__}) without symbolic inputs. Build it "
            "with keras.Input(shape=...) first (subclassed models: rebuild them functionally)."
        )
    return model


def _write_formats(model, staging, formats, variants, batches):
    """Writes the requested files into ``staging``; returns their names, in writing order."""
    names = []
    if "keras" in formats:
        model.save(str(staging / KERAS_NAME))
        names.append(KERAS_NAME)
    with tempfile.TemporaryDirectory() as scratch:
        # TFLite is converted from a SavedModel; when none is requested, a scratch one is used.
        keep = "saved_model" in formats
        saved_dir = staging / SAVED_MODEL_NAME if keep else Path(scratch) / SAVED_MODEL_NAME
        if keep or variants:
            saved_model.write_saved_model(model, saved_dir)
        names += [SAVED_MODEL_NAME] if keep else []
        if variants and saved_model.tflite_batch_size(model) is not None:
            saved_dir = Path(scratch) / "for_tflite"  # recurrent layers: a fixed batch
            saved_model.write_for_tflite(model, saved_dir)
        names += _write_tflite(saved_dir, staging, variants, batches)
    return names


def _write_tflite(saved_dir, staging, variants, batches):
    names = []
    for variant in variants:
        dataset = representative.as_dataset_fn(batches) if variant == "int8" else None
        blob = tflite.convert_saved_model(saved_dir, variant, dataset)
        name = tflite.tflite_filename(variant)
        (staging / name).write_bytes(blob)
        names.append(name)
    return names


def _build_manifest(model, staging, names, variants, evaluation_data):
    tflite_files = {v: tflite.tflite_filename(v) for v in variants}
    return {
        "format_version": manifest_lib.FORMAT_VERSION,
        "versions": manifest_lib.versions(),
        "model": manifest_lib.describe_model(model),
        "files": manifest_lib.file_records(staging, names),
        "tflite": {
            v: {"file": name, **litert.tensor_signature(staging / name)}
            for v, name in tflite_files.items()
        },
        "accuracy": _accuracies(model, staging, tflite_files, evaluation_data),
    }


def _accuracies(model, staging, tflite_files, evaluation_data):
    if evaluation_data is None:
        return None
    x, y = evaluation_data
    accuracy = {"keras": evaluate.keras_accuracy(model, x, y)}
    for variant, name in tflite_files.items():
        accuracy[f"tflite_{variant}"] = evaluate.tflite_accuracy(staging / name, x, y)
    return accuracy
