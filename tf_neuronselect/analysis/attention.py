"""Attention heads: units inside a layer, with no channel of their own in the graph.

A head of ``MultiHeadAttention`` is its slices of the query, key and value projections
(``[..., h, :]``) and its rows of the output projection (``[h, :, :]``). A head whose value
slices are zero contributes exactly zero (its attention weights multiply zero vectors), and so
does a head whose output rows are zero: such a head goes, and the layer is rebuilt as a stock
``MultiHeadAttention`` with fewer heads. For ``GroupQueryAttention`` the unit is a key/value
head with the query heads that share it (a key/value head goes only with all of them). The
layer keeps its input and output channels (they are usually a residual stream).
"""

import dataclasses

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.layers import gating
from tf_neuronselect.utils.arrays import to_numpy

ZERO_VALUE = "zero value group"
ZERO_OUTPUT = "zero output rows"
_QUERY_KEY = ("query/kernel", "query/bias", "key/kernel", "key/bias")
_VALUE = ("value/kernel", "value/bias")
_OUTPUT = "attention_output/kernel"


@dataclasses.dataclass(frozen=True)
class HeadSlice:
    """The entries ``units`` of weight ``path`` along its head axis (``layout``, ``side``)."""

    path: str
    layout: str
    side: str
    units: tuple


def weights_by_path(layer):
    """``{path inside the layer: variable}``, in the layer's weight order."""
    prefix = f"{layer.path}/"
    return {w.path[len(prefix):]: w for w in layer.weights if w.path.startswith(prefix)}


class InternalUnitsSlicer(slicers.PinnedSlicer):
    """A layer whose units are inside it (attention heads, a block's hidden neurons): its input
    and output channels stay (pinned), its internal units go when dead.

    Subclasses implement ``internal_count(layer)``, ``internal_label(layer, unit)``,
    ``unit_slices(layer, unit)`` (``HeadSlice``s: weight path inside the layer, layout, side,
    units), ``internal_status(layer, tol)`` (``(dead, reasons, strength)`` arrays),
    ``internal_config(layer, keep)``; they may override ``internal_keep`` (which units stay: the
    alive ones, at least one) and ``internal_weights`` (by default every ``HeadSlice`` of the
    kept units), and may add ``internal_notes(layer, tol)`` (why dead units stay, for the plan)
    and ``internal_macs(layer, input_shape, output_shape, keep=None)`` (their own MAC count), and
    ``internal_class(layer, keep)`` (the class to rebuild it as, when not its own).
    """

    def role(self, layer):
        return slicers.PINNED

    def internal_keep(self, layer, dead, strength):
        keep = np.flatnonzero(~np.asarray(dead))
        return keep if len(keep) else np.array([int(np.argmax(strength))])

    def internal_weights(self, layer, keep):
        """The layer's weights, in order, with only the units ``keep`` (every ``HeadSlice``
        of a kept unit is taken; weights no unit slices are copied whole)."""
        by_path = {}
        for unit in keep:
            for s in self.unit_slices(layer, unit):
                by_path.setdefault(s.path, (s.layout, s.side, []))[2].extend(s.units)
        arrays = []
        for path, weight in weights_by_path(layer).items():
            value = to_numpy(weight)
            if path in by_path:
                layout, side, units = by_path[path]
                value = grouping.take_units(value, layout, side, units)
            arrays.append(value)
        return arrays


class AttentionSlicer(InternalUnitsSlicer):
    """``MultiHeadAttention`` / ``GroupQueryAttention``: heads removed inside, channels kept."""

    def internal_label(self, layer, unit):
        return f"heads[{unit}]"

    def _shared(self, layer):
        """Query heads per unit (GroupQueryAttention's group size; 1 for multi-head)."""
        if isinstance(layer, keras.layers.GroupQueryAttention):
            return layer.num_query_heads // layer.num_key_value_heads
        return 1

    def internal_count(self, layer):
        if getattr(layer, "use_gate", False):
            return 0  # a gated attention's gate projection is not sliced: heads stay
        if isinstance(layer, keras.layers.GroupQueryAttention):
            return layer.num_key_value_heads
        return layer.num_heads

    def unit_slices(self, layer, unit):
        """Every ``HeadSlice`` of internal unit ``unit``."""
        shared = self._shared(layer)
        queries = tuple(range(unit * shared, (unit + 1) * shared))
        return head_slices(weights_by_path(layer), unit, queries)

    def internal_status(self, layer, tol):
        """``(dead, reasons, strength)`` of every internal unit."""
        count = self.internal_count(layer)
        weights = {p: to_numpy(w) for p, w in weights_by_path(layer).items()}
        value = np.array([slice_norm(weights, self.unit_slices(layer, u), _VALUE)
                          for u in range(count)])
        output = np.array([slice_norm(weights, self.unit_slices(layer, u), (_OUTPUT,))
                           for u in range(count)])
        dead = (value <= tol) | (output <= tol)
        reasons = [None if not d else (ZERO_VALUE if v <= tol else ZERO_OUTPUT)
                   for d, v in zip(dead, value)]
        return dead, reasons, value * output

    def internal_config(self, layer, keep):
        config = layer.get_config()
        if isinstance(layer, keras.layers.GroupQueryAttention):
            config["num_key_value_heads"] = len(keep)
            config["num_query_heads"] = len(keep) * self._shared(layer)
        else:
            config["num_heads"] = len(keep)
        return config


def head_slices(paths, unit, queries, prefix=""):
    """Every ``HeadSlice`` of key/value head ``unit`` and its query heads ``queries`` in an
    attention whose weights are at ``prefix + path`` among ``paths`` (a layer holding the
    attention names it by the prefix ``"<sublayer path>/"``)."""
    found = []
    for path in _QUERY_KEY + _VALUE:
        if prefix + path in paths:
            units = queries if path.startswith("query") else (unit,)
            found.append(HeadSlice(prefix + path, grouping.HEADS, grouping.INCOMING, units))
    found.append(HeadSlice(prefix + _OUTPUT, grouping.HEAD_ROWS, grouping.OUTGOING, queries))
    return found


def slice_norm(weights, head_slices, paths):
    """The joint L2 norm of the ``head_slices`` of ``weights`` (arrays by path) whose path is
    in ``paths``."""
    total = 0.0
    for s in head_slices:
        if s.path in paths and s.path in weights:
            matrix = np.asarray(grouping.unit_matrix(weights[s.path], s.layout, s.side))
            total += float(np.sum(np.square(matrix[:, list(s.units)])))
    return float(np.sqrt(total))


class GatedAttentionSlicer(AttentionSlicer):
    """``GatedMultiHeadAttention``: a head whose gate is closed is dead too (``GATE_OFF``)."""

    def internal_status(self, layer, tol):
        dead, reasons, strength = super().internal_status(layer, tol)
        factors = gating.head_scale(layer)
        closed = factors == 0
        reasons = [gating.GATE_OFF if c else r for c, r in zip(closed, reasons)]
        return dead | closed, reasons, strength * factors

    def internal_scale(self, layer):
        """The per-head factors the rewrite folds into the output rows."""
        return gating.head_scale(layer)

    def internal_class(self, layer, keep, scale=None):
        """The class of the rewritten layer: stock when the gates are folded (``scale``)."""
        return type(layer) if scale is None else keras.layers.MultiHeadAttention

    def internal_config(self, layer, keep, scale=None):
        config = super().internal_config(layer, keep)
        if scale is not None:
            del config["l1"], config["learning_rate_multiplier"]
        return config

    def internal_weights(self, layer, keep, scale=None):
        """The kept heads' weights; with ``scale``, theta is dropped and ``scale[h]`` folded
        into head h's output rows (the stock layer's weights), else theta is sliced."""
        keep = np.asarray(keep, dtype=np.int64)
        arrays = dict(zip(weights_by_path(layer), super().internal_weights(layer, keep)))
        theta = arrays.pop("theta")
        if scale is None:
            return [theta[keep] if path == "theta" else arrays[path]
                    for path in weights_by_path(layer)]
        arrays[_OUTPUT] = grouping.scale_units(arrays[_OUTPUT], grouping.HEAD_ROWS,
                                               grouping.OUTGOING, np.asarray(scale)[keep])
        return list(arrays.values())

