"""``manifest.json``: what was exported, how big and costly it is, and how to verify the files.

Every file written by ``export`` is listed with its size and sha256, except ``manifest.json``
itself (a file cannot contain its own digest).
"""

import json
import platform
from importlib import metadata

from tf_neuronselect.exporting import files
from tf_neuronselect.surgery import costs
from tf_neuronselect.version import __version__

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


def tensor_specs(tensors):
    """``[{"name", "shape", "dtype"}, ...]`` of Keras symbolic tensors."""
    return [
        {"name": t.name, "shape": list(t.shape), "dtype": str(t.dtype)} for t in tensors
    ]


def layer_records(model):
    """Per-layer name, class, width (units/filters, when the layer has one), parameters, MACs."""
    records = []
    for layer, layer_macs in _macs_or_none(model):
        record = {"name": layer.name, "class": type(layer).__name__}
        width = getattr(layer, "units", None) or getattr(layer, "filters", None)
        if isinstance(width, int):
            record["width"] = width
        record["parameters"] = int(layer.count_params()) if layer.built else 0
        record["macs"] = layer_macs
        records.append(record)
    return records


def _macs_or_none(model):
    # Subclassed models have no readable graph: list their layers without MAC counts.
    try:
        return costs.model_layer_macs(model)
    except TypeError:
        return [(layer, None) for layer in model.layers]


def describe_model(model):
    """The model part of the manifest: signatures, parameter and MAC counts, layer widths."""
    layers = layer_records(model)
    known = [r["macs"] for r in layers]
    return {
        "name": model.name,
        "class": type(model).__name__,
        "inputs": tensor_specs(model.inputs),
        "outputs": tensor_specs(model.outputs),
        "parameters": int(model.count_params()),
        "macs": None if None in known else sum(known),
        "layers": layers,
    }


def versions():
    """Versions of the libraries that produced the export."""
    import keras
    import tensorflow as tf

    return {
        "tf_neuronselect": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "ai_edge_litert": _distribution_version("ai-edge-litert"),
        "python": platform.python_version(),
    }


def _distribution_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def file_records(directory, names):
    """``{name: record}`` for the exported files/directories ``names`` under ``directory``."""
    return {name: files.record(directory / name) for name in names}


def write_manifest(manifest, directory):
    """Writes ``manifest`` as indented, key-sorted JSON to ``directory/manifest.json``."""
    path = directory / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path
