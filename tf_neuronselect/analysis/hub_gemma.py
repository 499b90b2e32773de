"""KerasHub's ``GemmaDecoderBlock``: its key/value heads and its gated feed-forward neurons are
units inside it.

A key/value head is its key and value slices with the query heads that share it (their query
slices and output rows); it contributes exactly zero when its value slices are zero or when the
output rows of all its query heads are zero. Neither the block's projections nor its
normalizations have a bias, and its attention scales scores by ``1 / sqrt(head_dim)`` (keras-hub
0.32 always builds it with ``query_head_dim_normalize=True``), which a head count does not
change. An attention that scales by ``hidden_dim // num_query_heads`` instead keeps its heads:
fewer heads would change every head's scale.

Feed-forward neuron ``j`` computes ``gelu(x . a_j) * (x . b_j)`` into row ``j`` of the output
projection: it is zero when ``a_j`` (gelu(0) = 0) or ``b_j`` or its row is zero. The block's
config counts both gate halves: ``intermediate_dim`` is twice the neurons.

The block is rebuilt as a stock ``GemmaDecoderBlock`` with fewer heads and neurons; its input
and output channels (the residual stream) stay. Units ``0 .. kv_heads - 1`` are the heads, the
next ones the neurons; at least one of each stays.
"""

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis.attention import ZERO_OUTPUT
from tf_neuronselect.analysis.attention import ZERO_VALUE
from tf_neuronselect.analysis.attention import HeadSlice
from tf_neuronselect.analysis.attention import InternalUnitsSlicer
from tf_neuronselect.analysis.attention import slice_norm
from tf_neuronselect.analysis.attention import weights_by_path
from tf_neuronselect.analysis.hub_transformer import ZERO_INCOMING
from tf_neuronselect.analysis.hub_transformer import ZERO_OUTGOING
from tf_neuronselect.utils.arrays import to_numpy

_QUERY, _KEY, _VALUE = "attention/query/kernel", "attention/key/kernel", "attention/value/kernel"
_OUTPUT = "attention/attention_output/kernel"
_GATE, _UP, _DOWN = "ffw_gating/kernel", "ffw_gating_2/kernel", "ffw_linear/kernel"


def head_dim_scale(layer):
    """Whether ``layer``'s attention scales scores by ``1 / sqrt(head_dim)``."""
    return bool(getattr(getattr(layer, "attention", None), "query_head_dim_normalize", False))


class GemmaBlockSlicer(InternalUnitsSlicer):
    """``GemmaDecoderBlock``: key/value heads and feed-forward neurons removed inside."""

    def _heads(self, layer):
        return int(layer.num_key_value_heads)

    def _shared(self, layer):
        """Query heads per key/value head."""
        return int(layer.num_query_heads) // self._heads(layer)

    def internal_count(self, layer):
        return self._heads(layer) + int(layer.intermediate_dim) // 2

    def internal_label(self, layer, unit):
        heads = self._heads(layer)
        return f"heads[{unit}]" if unit < heads else f"intermediate[{unit - heads}]"

    def unit_slices(self, layer, unit):
        """Every ``HeadSlice`` of internal unit ``unit`` (a head, then the neurons)."""
        heads, shared = self._heads(layer), self._shared(layer)
        if unit >= heads:
            neuron = (unit - heads,)
            return [HeadSlice(_GATE, grouping.STANDARD, grouping.INCOMING, neuron),
                    HeadSlice(_UP, grouping.STANDARD, grouping.INCOMING, neuron),
                    HeadSlice(_DOWN, grouping.STANDARD, grouping.OUTGOING, neuron)]
        queries = tuple(range(unit * shared, (unit + 1) * shared))
        return [HeadSlice(_QUERY, grouping.HEADS_FIRST, grouping.INCOMING, queries),
                HeadSlice(_KEY, grouping.HEADS_FIRST, grouping.INCOMING, (unit,)),
                HeadSlice(_VALUE, grouping.HEADS_FIRST, grouping.INCOMING, (unit,)),
                HeadSlice(_OUTPUT, grouping.HEAD_ROWS, grouping.OUTGOING, queries)]

    def internal_status(self, layer, tol):
        """``(dead, reasons, strength)`` of every head, then every neuron."""
        weights = {p: to_numpy(w) for p, w in weights_by_path(layer).items()}
        dead, reasons, strength = [], [], []
        for unit in range(self.internal_count(layer)):
            slices = self.unit_slices(layer, unit)
            is_head = unit < self._heads(layer)
            if is_head:
                norms = [slice_norm(weights, slices, (p,)) for p in (_VALUE, _OUTPUT)]
                why = (ZERO_VALUE, ZERO_OUTPUT)
            else:
                norms = [slice_norm(weights, slices, (p,)) for p in (_GATE, _UP, _DOWN)]
                why = (ZERO_INCOMING, ZERO_INCOMING, ZERO_OUTGOING)
            zero = [n <= tol for n in norms]
            if is_head and not head_dim_scale(layer):
                zero = [False] * len(zero)  # see internal_notes
            dead.append(any(zero))
            reasons.append(why[zero.index(True)] if any(zero) else None)
            strength.append(float(np.prod(norms)))
        return np.array(dead), reasons, np.array(strength)

    def internal_notes(self, layer, tol):
        """Why heads stay when the attention's scale depends on the head count."""
        if head_dim_scale(layer):
            return []
        return ["kept every attention head: the attention scales scores by 1 / sqrt(hidden_dim "
                "// num_query_heads), so fewer heads would change every head's scale"]

    def internal_keep(self, layer, dead, strength):
        """The alive heads and neurons, at least one of each (a block without either would
        not be a GemmaDecoderBlock)."""
        heads = self._heads(layer)
        dead, strength = np.asarray(dead), np.asarray(strength)
        kept = []
        for part in (slice(0, heads), slice(heads, len(dead))):
            kept.append(super().internal_keep(layer, dead[part], strength[part]) + part.start)
        return np.concatenate(kept)

    def _split(self, layer, keep):
        heads = self._heads(layer)
        keep = np.asarray(keep)
        return int(np.sum(keep < heads)), int(np.sum(keep >= heads))

    def internal_config(self, layer, keep):
        heads, neurons = self._split(layer, keep)
        config = layer.get_config()
        config["num_key_value_heads"] = heads
        config["num_query_heads"] = heads * self._shared(layer)
        config["intermediate_dim"] = 2 * neurons
        return config

    def internal_macs(self, layer, input_shape, output_shape, keep=None):
        """Projections, scores, weighted sum and output of the heads kept, and the three
        feed-forward products of the neurons kept (all when ``keep`` is None), per example."""
        keep = range(self.internal_count(layer)) if keep is None else keep
        heads, neurons = self._split(layer, list(keep))
        steps = int(input_shape[1]) if len(input_shape) == 3 and input_shape[1] else 1
        dim, size, queries = int(input_shape[-1]), int(layer.head_dim), heads * self._shared(layer)
        projections = steps * dim * size * (2 * queries + 2 * heads)
        return projections + 2 * steps * steps * queries * size + 3 * steps * dim * neurons
