"""Which units of a layer are dead, and why: reads weights only, knows nothing of the graph.

A unit is dead when removing it cannot change what the model computes (up to ``tol``):
- a Dense/Conv unit whose incoming group has norm <= tol emits the constant ``act(bias)``;
- a Gate channel with ``theta <= 0`` emits exactly zero (so does a GatedMultiHeadAttention
  head, whose status the attention slicer gives);
- a TriStateReLU channel whose binarized width gate is 0 emits exactly zero.
Units nobody reads (zero outgoing groups in every consumer) are found by the planner, which
knows the consumers; ``unused_inputs`` gives it the per-consumer fact.
"""

import dataclasses

import numpy as np
from keras import ops

from tf_neuronselect import grouping
from tf_neuronselect.analysis.attention import InternalUnitsSlicer
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.layers import gating
from tf_neuronselect.layers.gate import Gate
from tf_neuronselect.layers.gated_attention import GatedMultiHeadAttention
from tf_neuronselect.layers.tri_state_relu import TriStateReLU
from tf_neuronselect.utils.arrays import to_numpy

ZERO_INCOMING = "zero incoming group"
BELOW_TOL = "norm below tol"
GATE_OFF = gating.GATE_OFF
TRI_STATE_OFF = "tri-state w = 0"
ZERO_OUTGOING = "zero outgoing group"
CONSTANT_UPSTREAM = "constant from upstream"


@dataclasses.dataclass
class UnitStatus:
    """Per-unit verdict for one layer.

    Attributes:
        dead: bool array, one entry per output unit (channel).
        reasons: list with one reason string (or None when alive) per unit.
        strength: float array; the unit's importance (group norm, gate value), used to pick
            which units to keep when some must stay.
    """

    dead: np.ndarray
    reasons: list
    strength: np.ndarray


def layer_status(layer, tol=0.0):
    """The ``UnitStatus`` of ``layer``, or None if it has no removable units of its own."""
    if isinstance(layer, Gate):
        scale = gating.channel_scale(layer)
        return _status(scale == 0, GATE_OFF, scale)
    if isinstance(layer, TriStateReLU):
        # The raw width ranks closed channels too (which to keep when a layer must not empty).
        return _status(gating.closed_channels(layer), TRI_STATE_OFF,
                       to_numpy(layer.width_gate))
    if grouping.is_grouped_convolution(layer):
        return None
    spec = grouping.unit_spec(layer)
    if spec is None:
        return None
    norms = incoming_norms(layer, spec)
    dead = norms <= tol
    reasons = [None if not d else (ZERO_INCOMING if n == 0 else BELOW_TOL)
               for d, n in zip(dead, norms)]
    return UnitStatus(dead, reasons, norms)


def incoming_norms(layer, spec):
    """Each unit's incoming group norm: its kernel columns; for a recurrent layer also its
    recurrent columns and biases (only then does the unit emit exactly zero: from a zero
    state, every gate's input is 0 and the candidate is tanh(0))."""
    names = (spec.kernel, spec.recurrent, spec.bias) if spec.recurrent else (spec.kernel,)
    squares = 0.0
    for name in names:
        weight = grouping.weight_of(layer, name)
        if weight is not None:
            squares = squares + grouping.unit_norms_numpy(to_numpy(weight), spec.layout,
                                                          grouping.INCOMING) ** 2
    return np.sqrt(squares)


def _status(dead, reason, strength):
    dead = np.asarray(dead, dtype=bool)
    return UnitStatus(dead, [reason if d else None for d in dead], np.asarray(strength, float))


def unused_inputs(layer, tol=0.0):
    """Bool array over the input channels of a prunable ``layer``: True where every weight
    reading that channel has norm <= tol (its outgoing group is zero), so its value is unused."""
    spec = grouping.unit_spec(layer)
    first = spec.depthwise or spec.kernel
    first_layout = grouping.DEPTHWISE if spec.depthwise else spec.layout
    kernel = to_numpy(grouping.weight_of(layer, first))
    unused = grouping.unit_norms_numpy(kernel, first_layout, grouping.OUTGOING) <= tol
    if spec.depthwise:
        # The pointwise rows of all m depthwise outputs of a channel can be zero instead.
        pointwise = to_numpy(grouping.weight_of(layer, spec.kernel))
        rows = grouping.unit_norms_numpy(pointwise, spec.layout, grouping.OUTGOING)
        unused |= np.all(rows.reshape(kernel.shape[-2], -1) <= tol, axis=1)
    return unused


def dead_counts(layer, tol=0.0):
    """A few ints that change whenever a unit of ``layer`` dies or revives (None for layers
    without removable units of their own): closed gates, or the zero incoming and outgoing
    groups of each kernel.

    Cheap enough to call every few training steps: the norms are reduced where the weights
    live (``keras.ops``), and only the counts are copied out. It may count a group whose norm
    is a hair above ``tol`` (float32, a small margin), never miss one: it decides when to run
    the exact plan, which then decides what goes.
    """
    if isinstance(layer, (Gate, TriStateReLU)):
        return (int(gating.closed_channels(layer).sum()),)
    if isinstance(layer, GatedMultiHeadAttention):
        return (int(gating.closed_heads(layer).sum()),)  # heads die by their gates here
    internal = _dead_internal_units(layer, tol)
    if internal is not None:
        return internal
    if grouping.is_grouped_convolution(layer):
        return None
    spec = grouping.unit_spec(layer)
    if spec is None:
        return None
    squares = _squares(getattr(layer, spec.kernel))
    counts = [_zero_groups(squares, spec.layout, side, tol) for side in grouping.SIDES]
    if spec.depthwise:
        counts.append(_zero_groups(_squares(getattr(layer, spec.depthwise)),
                                   grouping.DEPTHWISE, grouping.OUTGOING, tol))
    return tuple(counts)


def _dead_internal_units(layer, tol):
    """``(dead heads or block units,)`` of a layer whose units live inside it (attention, a
    KerasHub block), by its slicer's own rule; None for other layers. These layers hold few
    weights next to a network's kernels, so reading them on the host stays cheap."""
    slicer = get_slicer(layer)
    if not isinstance(slicer, InternalUnitsSlicer) or not slicer.internal_count(layer):
        return None
    return (int(np.sum(slicer.internal_status(layer, float(tol))[0])),)


def _squares(kernel):
    return ops.square(ops.cast(ops.convert_to_tensor(kernel), "float32"))


def _zero_groups(squares, layout, side, tol):
    limit = (float(tol) * (1.0 + 1e-5)) ** 2
    sums = grouping.group_sums(squares, layout, side)
    return int(to_numpy(ops.sum(ops.cast(sums <= limit, "int32"))))


def check_finite(layer):
    """Raises ``ValueError`` naming ``layer`` and the weight if any weight is NaN or inf."""
    for weight in layer.weights:
        if not np.all(np.isfinite(to_numpy(weight))):
            raise ValueError(
                f"Expected finite weights in every layer. Received: layer '{layer.name}' "
                f"({type(layer).__name__}) has NaN or inf values in weight '{weight.name}'. "
                "How to fix: restore the weights from a checkpoint taken before training "
                "diverged (lower the learning rate or the penalty), then shrink again."
            )
