"""The arguments of ``compress``, checked with the library's wording."""

import numbers

import numpy as np

from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.training.distill import check_distillable
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_positive_int

OWNER = "compress"
METHODS = ("auto", "prune", "penalty")


def check(model, train_data, params, macs, latency, epochs, method, distill):
    """Raises for bad arguments; returns ``(kind, goal)``: "params" or "macs" and the absolute
    size to reach."""
    arguments = keras_private.compile_arguments(model)
    if arguments is None or arguments.get("loss") is None:
        raise ValueError(
            f"{OWNER}: expected a compiled model (its loss is what fine-tuning minimizes). "
            "Received: a model that was never compiled. How to fix: model.compile(optimizer, "
            "loss, metrics=...) as it was trained."
        )
    _check_data(train_data)
    validate_positive_int(epochs, "epochs", OWNER, example=5)
    validate_choice(method, "method", METHODS, OWNER)
    if validate_bool(distill, "distill", OWNER):
        check_distillable(arguments["loss"])
    return _goal(model, params, macs, latency)


def _check_data(train_data):
    if not (isinstance(train_data, tuple) and len(train_data) == 2
            and len(np.asarray(train_data[0])) == len(np.asarray(train_data[1])) > 0):
        raise ValueError(
            f"{OWNER}: expected `train_data` to be a pair (x, y) of arrays with the same "
            f"number of samples. Received: {type(train_data).__name__}. How to fix: pass "
            "train_data=(x_train, y_train)."
        )


def _goal(model, params, macs, latency):
    given = {k: v for k, v in (("params", params), ("macs", macs), ("latency", latency))
             if v is not None}
    if len(given) != 1:
        raise ValueError(
            f"{OWNER}: expected exactly one target: params=, macs= or latency=. Received: "
            f"{', '.join(sorted(given)) or 'none'}. How to fix: pass e.g. params=0.1 (keep a "
            "tenth of the parameters)."
        )
    kind, value = next(iter(given.items()))
    size = model_size(model)["macs" if kind == "latency" else kind]
    if kind != "latency" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return kind, float(validate_positive_int(value, kind, OWNER))
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(
            f"{OWNER}: expected `{kind}` to be a share of the model in (0, 1)"
            f"{'' if kind == 'latency' else ' or a positive int'}. Received: {kind}={value!r}. "
            f"How to fix: pass e.g. {kind}=0.1."
        )
    return ("macs" if kind == "latency" else kind), float(value) * size
