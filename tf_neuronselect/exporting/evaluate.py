"""Argmax accuracy of the Keras model and of each exported TFLite file on ``(x, y)``."""

import numpy as np

from tf_neuronselect.exporting import litert

_BATCH = 256


def check_evaluation_data(evaluation_data):
    """Returns ``(x, y)`` as arrays, or raises ``ValueError`` describing the expected form."""
    if not isinstance(evaluation_data, (tuple, list)) or len(evaluation_data) != 2:
        raise ValueError(
            "export: expected `evaluation_data` to be a pair (x, y) of inputs and labels. "
            f"Received: {type(evaluation_data).__name__}. Pass evaluation_data=(x_test, y_test)."
        )
    x, y = (np.asarray(a) for a in evaluation_data)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(
            "export: expected `evaluation_data` x and y with the same, non-zero number of "
            f"samples. Received: {len(x)} inputs and {len(y)} labels. Pass matching arrays."
        )
    return x, y


def argmax_accuracy(predictions, labels):
    """Fraction of samples whose argmax prediction equals the label (integer or one-hot)."""
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if labels.ndim == predictions.ndim:
        labels = np.argmax(labels, axis=-1)
    return float(np.mean(np.argmax(predictions, axis=-1) == labels.reshape(-1)))


def keras_accuracy(model, x, y):
    """Argmax accuracy of ``model`` in inference mode."""
    return argmax_accuracy(model.predict(x, batch_size=_BATCH, verbose=0), y)


def tflite_accuracy(path, x, y):
    """Argmax accuracy of the ``.tflite`` file at ``path`` (first output), in batches."""
    interpreter = litert.load_interpreter(path)
    chunks = [
        litert.run_tflite(interpreter, x[start : start + _BATCH])[0]
        for start in range(0, len(x), _BATCH)
    ]
    return argmax_accuracy(np.concatenate(chunks), y)
