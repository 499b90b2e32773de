"""Representative (calibration) data for full-integer quantization: accepted forms and checks."""

import numpy as np

OWNER = "export"
# Calibration only needs the activation ranges; a few hundred samples settle them.
MAX_SAMPLES = 500
_CALIBRATION_BATCH = 32


def calibration_batches(representative_data, model):
    """Returns a list of input batches for ``model``, each a list with one array per input.

    ``representative_data`` is a NumPy array (or list of arrays, one per model input) holding
    samples along axis 0, or a callable / iterable yielding such batches. Raises ``ValueError``
    naming the expected shape when a batch does not fit the model's inputs.
    """
    if representative_data is None:
        raise ValueError(
            f"{OWNER}: expected `representative_data` for quantize='int8' (full-integer "
            "quantization needs calibration inputs). Received: representative_data=None. Pass "
            "a NumPy array of a few hundred training inputs, or a generator of input batches."
        )
    batches = [_as_input_list(batch) for batch in _iterate(representative_data)]
    if not batches:
        raise ValueError(
            f"{OWNER}: expected `representative_data` to yield at least one batch. Received: "
            "an empty source. Pass a few hundred training inputs."
        )
    specs = [(tuple(t.shape), t.dtype) for t in model.inputs]
    return [_check_batch(batch, specs) for batch in batches]


def _iterate(data):
    if isinstance(data, np.ndarray) or _is_array_list(data):
        return _split(data)
    source = data() if callable(data) else data
    batches, samples = [], 0
    for batch in source:
        batches.append(batch)
        samples += len(_as_input_list(batch)[0])
        if samples >= MAX_SAMPLES:
            break
    return batches


def _is_array_list(data):
    # An empty list is an empty source (no batches), not a list of zero input arrays.
    return (isinstance(data, (list, tuple)) and len(data) > 0
            and all(isinstance(a, np.ndarray) for a in data))


def _split(data):
    arrays = _as_input_list(data)
    count = min(len(arrays[0]), MAX_SAMPLES)
    starts = range(0, count, _CALIBRATION_BATCH)
    return [[a[s : min(s + _CALIBRATION_BATCH, count)] for a in arrays] for s in starts]


def _as_input_list(batch):
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        return [np.asarray(a) for a in batch]
    return [np.asarray(batch)]


def _check_batch(batch, specs):
    if len(batch) != len(specs):
        raise ValueError(
            f"{OWNER}: expected `representative_data` batches with {len(specs)} input arrays "
            f"(one per model input). Received: {len(batch)}. Yield a list with one array per "
            "input, in the order of model.inputs."
        )
    return [_check_array(array, shape, dtype) for array, (shape, dtype) in zip(batch, specs)]


def _check_array(array, shape, dtype):
    fits = array.ndim == len(shape) and all(
        want is None or want == got for want, got in zip(shape, array.shape)
    )
    if not fits:
        raise ValueError(
            f"{OWNER}: expected `representative_data` batches of shape {shape} to match the "
            f"model input. Received: {tuple(array.shape)}. Reshape the data to the model's "
            "input shape (the batch axis first)."
        )
    return array.astype(dtype, copy=False)


def as_dataset_fn(batches):
    """Wraps checked batches as the zero-argument generator the TFLite converter calls."""

    def representative_dataset():
        yield from batches

    return representative_dataset
