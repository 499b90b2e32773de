"""KerasHub's ``TransformerEncoder`` (BERT's block) and ``TransformerDecoder`` (GPT-2's, BART's):
their feed-forward neurons are units inside them.

Neuron ``j`` of a block is column ``j`` of the intermediate Dense (kernel and bias) and row
``j`` of the output Dense. It contributes exactly zero when its output row is zero, or when its
column and bias are zero and the activation maps 0 to 0 (relu, gelu: then it emits 0 whatever
the input). Such neurons go and the block is rebuilt as a stock block of its class with a
smaller ``intermediate_dim``; its input and output channels (the residual stream) stay.

Its attention heads stay too: the block derives ``key_dim = hidden_dim // num_heads``, so a
block with fewer heads has wider heads and another softmax scale, a different function. Dead
heads are listed in the plan's notes instead.
"""

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis.attention import HeadSlice
from tf_neuronselect.analysis.attention import InternalUnitsSlicer
from tf_neuronselect.analysis.attention import slice_norm
from tf_neuronselect.analysis.attention import weights_by_path
from tf_neuronselect.utils.arrays import to_numpy

ZERO_INCOMING = "zero incoming group"
ZERO_OUTGOING = "zero outgoing group"
_KERNEL_IN = "feedforward_intermediate_dense/kernel"
_BIAS_IN = "feedforward_intermediate_dense/bias"
_KERNEL_OUT = "feedforward_output_dense/kernel"


def maps_zero_to_zero(activation):
    """Whether ``activation(0) == 0`` exactly (a neuron with zero weights then emits 0)."""
    return float(to_numpy(activation(keras.ops.zeros((1,))))[0]) == 0.0


def dead_heads(weights, tol):
    """The heads of one attention's ``weights`` (arrays by path inside it) whose value slices or
    output rows have norm <= ``tol`` (either makes the head contribute zero)."""
    dead = []
    for head in range(int(weights["value/kernel"].shape[1])):
        value = [HeadSlice(p, grouping.HEADS, grouping.INCOMING, (head,))
                 for p in ("value/kernel", "value/bias") if p in weights]
        output = [HeadSlice("attention_output/kernel", grouping.HEAD_ROWS, grouping.OUTGOING,
                            (head,))]
        if min(slice_norm(weights, value, ("value/kernel", "value/bias")),
               slice_norm(weights, output, ("attention_output/kernel",))) <= tol:
            dead.append(head)
    return dead


class FeedForwardBlockSlicer(InternalUnitsSlicer):
    """A KerasHub transformer block: feed-forward neurons removed inside, heads and channels
    kept. ``attentions`` are the paths of its attention sublayers (a decoder's cross-attention
    exists only when it was called with an encoder sequence)."""

    def __init__(self, attentions):
        self.attentions = tuple(attentions)

    def internal_label(self, layer, unit):
        return f"intermediate[{unit}]"

    def internal_count(self, layer):
        return int(layer.intermediate_dim)

    def unit_slices(self, layer, unit):
        """Every ``HeadSlice`` of neuron ``unit``: what produces it, then the row reading it."""
        return [HeadSlice(_KERNEL_IN, grouping.STANDARD, grouping.INCOMING, (unit,)),
                HeadSlice(_BIAS_IN, grouping.STANDARD, grouping.INCOMING, (unit,)),
                HeadSlice(_KERNEL_OUT, grouping.STANDARD, grouping.OUTGOING, (unit,))]

    def internal_status(self, layer, tol):
        """``(dead, reasons, strength)`` of every neuron."""
        weights = {p: to_numpy(w) for p, w in weights_by_path(layer).items()}
        slices = [self.unit_slices(layer, u) for u in range(self.internal_count(layer))]
        incoming = np.array([slice_norm(weights, s, (_KERNEL_IN, _BIAS_IN)) for s in slices])
        outgoing = np.array([slice_norm(weights, s, (_KERNEL_OUT,)) for s in slices])
        silent = (incoming <= tol) & maps_zero_to_zero(layer.activation)
        dead = silent | (outgoing <= tol)
        reasons = [None if not d else (ZERO_INCOMING if s else ZERO_OUTGOING)
                   for d, s in zip(dead, silent)]
        return dead, reasons, incoming * outgoing

    def internal_config(self, layer, keep):
        config = layer.get_config()
        config["intermediate_dim"] = len(keep)
        return config

    def _attention_weights(self, layer):
        """``{attention path: {path inside it: array}}`` of the attentions the block built."""
        found = {}
        for path, weight in weights_by_path(layer).items():
            head, _, rest = path.partition("/")
            if head in self.attentions:
                found.setdefault(head, {})[rest] = to_numpy(weight)
        return found

    def internal_notes(self, layer, tol):
        """Why dead heads stay (the block's config cannot say "fewer heads of the same size")."""
        notes = []
        for path, weights in self._attention_weights(layer).items():
            dead = dead_heads(weights, tol)
            if dead:
                notes.append(
                    f"kept dead attention heads {dead} of {path}: {type(layer).__name__} "
                    "derives key_dim = hidden_dim // num_heads, so a block with fewer heads "
                    "computes another function")
        return notes

    def internal_macs(self, layer, input_shape, output_shape, keep=None):
        """Each attention (projections, scores, weighted sum, output; keys as long as the
        queries) and the two feed-forward products with the neurons ``keep`` (all when None),
        per example."""
        steps = int(input_shape[1]) if len(input_shape) == 3 and input_shape[1] else 1
        dim = int(input_shape[-1])
        total = 0
        for weights in self._attention_weights(layer).values():
            _, heads, key_dim = weights["query/kernel"].shape
            total += steps * heads * key_dim * (4 * dim + 2 * steps)
        kept = self.internal_count(layer) if keep is None else len(keep)
        return total + 2 * steps * dim * kept
