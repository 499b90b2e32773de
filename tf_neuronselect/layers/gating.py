"""What a gate layer does at inference, the one home of the "closed channel" rule.

A ``Gate`` multiplies channel c by ``max(0, theta_c)``; a ``TriStateReLU`` by its width gate
binarized at 0.5, and stays a ReLU while its binarized depth gate is 0. A channel whose factor
is 0 is *closed*: it emits exactly zero whatever its input. A ``GatedMultiHeadAttention``
multiplies head h by ``max(0, theta_h)``: a head whose factor is 0 is closed the same way (its
output, hence its share of the output projection, is exactly zero). The selection, the
constant propagation and the folds of the rewriter all read these functions.
"""

import numpy as np

from tf_neuronselect.layers.gate import Gate
from tf_neuronselect.layers.gated_attention import GatedMultiHeadAttention
from tf_neuronselect.layers.tri_state_relu import THRESHOLD
from tf_neuronselect.layers.tri_state_relu import TriStateReLU
from tf_neuronselect.utils.arrays import to_numpy

GATE_LAYERS = (Gate, TriStateReLU)
GATE_OFF = "gate <= 0"  # the reason a closed channel or head is dead


def channel_scale(layer):
    """The per-channel factor ``layer`` (a Gate or TriStateReLU) applies at inference."""
    if isinstance(layer, Gate):
        return np.maximum(to_numpy(layer.theta).astype(np.float64), 0.0)
    _check_gate(layer)
    return (to_numpy(layer.width_gate) >= THRESHOLD).astype(np.float64)


def closed_channels(layer):
    """Bool mask of the channels ``layer`` multiplies by exactly zero."""
    return channel_scale(layer) == 0


def head_scale(layer):
    """The per-head factor ``max(0, theta)`` a ``GatedMultiHeadAttention`` applies."""
    if not isinstance(layer, GatedMultiHeadAttention):
        raise TypeError(
            f"Expected a GatedMultiHeadAttention layer. Received: {type(layer).__name__} "
            f"'{getattr(layer, 'name', layer)}'. How to fix: pass a layer made by "
            "tf_neuronselect.GatedMultiHeadAttention or add_gates(model, heads=True)."
        )
    return np.maximum(to_numpy(layer.theta).astype(np.float64), 0.0)


def closed_heads(layer):
    """Bool mask of the heads a ``GatedMultiHeadAttention`` multiplies by exactly zero."""
    return head_scale(layer) == 0


def keeps_relu(layer):
    """True when ``layer`` is a TriStateReLU whose binarized depth gate is 0 (a ReLU remains
    after the scale); False for a Gate and a linear TriStateReLU."""
    if isinstance(layer, Gate):
        return False
    _check_gate(layer)
    return bool(to_numpy(layer.depth_gate) < THRESHOLD)


def _check_gate(layer):
    if not isinstance(layer, GATE_LAYERS):
        raise TypeError(
            f"Expected a Gate or TriStateReLU layer. Received: {type(layer).__name__} "
            f"'{getattr(layer, 'name', layer)}'."
        )
