"""Argument checks shared by every public object, with one wording for their errors."""

import math
import numbers

import numpy as np


def validate_non_negative_float(value, name, owner):
    """Returns ``value`` as a float, or raises ``ValueError``/``TypeError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: expected `{name}` to be a non-negative float. "
            f"Received: {name}={value!r} of type {type(value).__name__}. "
            f"Pass a Python number such as {name}=1e-3."
        )
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(
            f"{owner}: expected `{name}` to be a finite float >= 0. "
            f"Received: {name}={value!r}. Pass a value such as {name}=1e-3 "
            f"(0 disables this term)."
        )
    return value


def validate_bool(value, name, owner):
    """Returns ``value`` if it is a bool (NumPy bools included), else raises ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{owner}: expected `{name}` to be a bool. Received: {name}={value!r} of type "
            f"{type(value).__name__}. How to fix: pass {name}=True or {name}=False."
        )
    return bool(value)


def validate_unit_interval(value, name, owner):
    """Returns ``value`` as a float in [0, 1], or raises naming the argument."""
    value = validate_non_negative_float(value, name, owner)
    if value > 1:
        raise ValueError(
            f"{owner}: expected `{name}` to be in [0, 1]. Received: {name}={value!r}. "
            f"Use {name}=0 for the pure group penalty and {name}=1 for pure L1."
        )
    return value


def validate_choice(value, name, choices, owner):
    """Returns ``value`` if it is one of ``choices``, else raises ``ValueError`` listing them."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"{owner}: expected `{name}` to be one of {listed}. Received: {name}={value!r}. "
            "Pass one of the listed values."
        )
    return value


def validate_positive_int(value, name, owner, allow_none=False, example=1, meaning="",
                          hint=""):
    """Returns ``value`` if it is an int >= 1 (or None when ``allow_none``), else raises
    ``ValueError`` naming the argument; ``meaning`` (e.g. "epochs between removals") and
    ``hint`` (another way to fix it) go into the message."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        expected = "None or a positive int" if allow_none else "a positive int"
        meaning = f" ({meaning})" if meaning else ""
        hint = f"; {hint}" if hint else ""
        raise ValueError(
            f"{owner}: expected `{name}` to be {expected}{meaning}. Received: {name}={value!r}. "
            f"How to fix: pass e.g. {name}={example}{hint}."
        )
    return int(value)


def validate_non_negative_int(value, name, owner):
    """Returns ``value`` if it is an int >= 0, else raises ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"{owner}: expected `{name}` to be an int >= 0. Received: {name}={value!r}. "
            f"How to fix: pass e.g. {name}=3."
        )
    return int(value)


def validate_in_range(value, name, owner, low, high, high_open=True):
    """Returns ``value`` as a float in ``[low, high)`` (``[low, high]`` with
    ``high_open=False``), or raises naming the argument."""
    interval = f"[{low:g}, {high:g}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: expected `{name}` to be a float in {interval}. Received: "
            f"{name}={value!r} of type {type(value).__name__}. How to fix: pass a Python number."
        )
    value = float(value)
    above = value >= high if high_open else value > high
    if math.isnan(value) or value < low or above:
        raise ValueError(
            f"{owner}: expected `{name}` to be in {interval}. Received: {name}={value!r}. "
            f"How to fix: pass a value in {interval}."
        )
    return value


def validate_positive_float(value, name, owner, example=1.0):
    """Returns ``value`` as a finite float > 0, or raises ``ValueError``/``TypeError``."""
    value = validate_non_negative_float(value, name, owner)
    if value == 0:
        raise ValueError(
            f"{owner}: expected `{name}` to be a float > 0. Received: {name}=0.0. "
            f"How to fix: pass e.g. {name}={example!r}."
        )
    return value
