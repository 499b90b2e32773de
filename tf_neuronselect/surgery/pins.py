"""What the weights decide about the coupling: which channels a reader can do without.

A Dense/Conv-like reader accepts losing an input channel when its rows for that channel are
zero (the channel is unused) or the channel is a constant it can fold into its bias exactly;
otherwise the channel stays. A node without a slicer keeps every channel it reads, except
constant ones the planner may still remove elsewhere (refused by name if it would have to).
"""

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis.coupling import pin_all
from tf_neuronselect.selection.dead import unused_inputs


def pin_readers(coupling, constants, tol):
    """Pins every channel a reader of ``coupling`` cannot do without (see the module doc)."""
    channels = coupling.channels
    for node, key in coupling.readers:
        layer = node.operation
        values = constants[key]
        constant = np.isfinite(values)
        exact = constant & ((values == 0) | exact_fold(layer))
        accepts = unused_inputs(layer, tol) | exact
        name = f"'{layer.name}'"
        channels.pin(key, ~accepts & constant,
                     f"consumer {name} uses '{getattr(layer, 'padding', '')}' padding and the "
                     "constant is non-zero (folding would be wrong at the borders)")
        channels.pin(key, ~accepts & ~constant, f"read by {name}")


def pin_unknown_readers(coupling, constants):
    """Pins what nodes without a slicer read; returns the ``(node, key)`` pairs whose constant
    channels are left for ``raise_on_unknown`` to judge after settling."""
    pending = []
    for node, key, unregistered in coupling.unknown:
        name = f"'{node.operation.name}' ({type(node.operation).__name__})"
        if unregistered:
            # A constant channel read by an unknown layer could go; decide after settling.
            coupling.channels.pin(key, np.isnan(constants[key]),
                                  f"read by {name}, which has no slicer")
            pending.append((node, key))
        else:
            pin_all(coupling.channels, key, f"read by {name}, which cannot be sliced")
    return pending


def exact_fold(layer):
    """True when a constant input of ``layer`` can be folded into its bias exactly: Dense, or
    a standard-layout convolution with 'valid' padding (every tap reads the constant)."""
    spec = grouping.unit_spec(layer)
    if spec.layout != grouping.STANDARD:
        return False
    return getattr(layer, "padding", "valid") == "valid"


def raise_on_unknown(pending, channels, constants):
    """Raises ``ValueError`` if a dead channel could go but an unknown layer reads it."""
    for node, key in pending:
        hit = np.flatnonzero(channels.removable[key] & np.isfinite(constants[key]))
        if len(hit):
            cls = type(node.operation).__name__
            raise ValueError(
                f"Expected every layer that reads a removable channel to have a slicer. "
                f"Received: layer '{node.operation.name}' of type {cls} reads channels "
                f"{hit[:8].tolist()} of '{key[0]}', which are dead, and tf_neuronselect does "
                f"not know how {cls} maps channels. How to fix: register a slicer with "
                f"tf_neuronselect.register_slicer({cls}, slicer) (for an element-wise layer, "
                "tf_neuronselect.surgery.Elementwise()), or revive those units."
            )
        channels.pin(key, slice(None), f"read by '{node.operation.name}', which has no slicer")
    channels.settle()


def keep_one_feature(channels, selections):
    """Keeps feature 0 of every selected input tensor nobody reads, so no input is emptied."""
    for key in selections:
        if channels.removable[key].all():
            channels.pin(key, [0], "kept so the model input is not empty")
    channels.settle()
