"""Checks of the optimizers' own hyperparameters where Keras does not make them.

Keras accepts a negative or infinite learning rate and a momentum of 1 (which never forgets a
gradient); a proximal step with a negative step size would grow the weights instead of
shrinking them. Schedules and callables are checked by Keras when they are called.
"""

import math
import numbers

from tf_neuronselect.utils.validation import validate_in_range

# name -> (low, high, high_open): the accepted interval of each float hyperparameter.
_INTERVALS = {
    "momentum": (0.0, 1.0, True),
    "beta_1": (0.0, 1.0, True),
    "beta_2": (0.0, 1.0, True),
}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _validate_learning_rate(value, owner):
    if _is_number(value) and (math.isnan(value) or math.isinf(value) or value < 0):
        raise ValueError(
            f"{owner}: expected `learning_rate` to be a finite float >= 0 (the proximal step "
            f"size). Received: learning_rate={value!r}. How to fix: pass e.g. "
            "learning_rate=0.01, or a keras.optimizers.schedules.LearningRateSchedule."
        )


def _validate_epsilon(value, owner):
    if _is_number(value) and not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{owner}: expected `epsilon` to be a finite float > 0 (it keeps Adam's division "
            f"defined). Received: epsilon={value!r}. How to fix: pass e.g. epsilon=1e-7."
        )


def validate_optimizer_arguments(arguments, owner):
    """Raises ``ValueError`` for a bad learning rate, momentum, beta or epsilon in
    ``arguments`` (the constructor's arguments by name)."""
    _validate_learning_rate(arguments.get("learning_rate"), owner)
    _validate_epsilon(arguments.get("epsilon"), owner)
    for name, (low, high, high_open) in _INTERVALS.items():
        if _is_number(arguments.get(name)):
            validate_in_range(arguments[name], name, owner, low, high, high_open)
