"""Running ``.tflite`` files, the one place that creates a LiteRT ``Interpreter``.

``tf.lite.Interpreter`` is deprecated in TF 2.21; ``ai_edge_litert`` is its replacement and does
not need TensorFlow at all.
"""

import numpy as np

SIGNATURE = "serving_default"


def load_interpreter(model, num_threads=1):
    """Returns an allocated LiteRT ``Interpreter`` for a ``.tflite`` path or its bytes."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        interpreter = Interpreter(model_content=bytes(model), num_threads=num_threads)
    else:
        interpreter = Interpreter(model_path=str(model), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


def run_tflite(model, inputs, num_threads=1):
    """Runs a ``.tflite`` model (path, bytes or ``Interpreter``) on a batch of any size.

    ``inputs`` is one array (single-input model), a list of arrays in signature input order, or
    a dict keyed by signature input name. Returns the outputs as a list ordered by output name
    (``output_0``, ``output_1``, ...), which is the Keras model's output order.
    """
    interpreter = model if hasattr(model, "get_signature_runner") else load_interpreter(
        model, num_threads
    )
    runner = interpreter.get_signature_runner(SIGNATURE)
    names = interpreter.get_signature_list()[SIGNATURE]["inputs"]
    feed = _feed(inputs, names, runner.get_input_details())
    outputs = runner(**feed)
    return [outputs[name] for name in sorted(outputs, key=output_position)]


def _feed(inputs, names, details):
    if isinstance(inputs, dict):
        arrays = dict(inputs)
    elif isinstance(inputs, (list, tuple)):
        arrays = dict(zip(names, inputs))
    else:
        arrays = {names[0]: inputs}
    return {name: np.asarray(a, dtype=details[name]["dtype"]) for name, a in arrays.items()}


def output_position(name):
    """Sort key for signature output names: "output_10" sorts after "output_9"."""
    prefix, _, index = name.rpartition("_")
    return (prefix, int(index)) if index.isdigit() else (name, -1)


def tensor_signature(model):
    """Input and output tensor specs of a ``.tflite`` model, as JSON-ready dicts."""
    interpreter = load_interpreter(model)
    return {
        "inputs": [_spec(d) for d in interpreter.get_input_details()],
        "outputs": [_spec(d) for d in interpreter.get_output_details()],
    }


def _spec(detail):
    scale, zero_point = detail["quantization"]
    spec = {
        "name": detail["name"],
        "shape": [None if d < 0 else int(d) for d in detail["shape_signature"]],
        "dtype": np.dtype(detail["dtype"]).name,
    }
    if scale:
        spec["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return spec
