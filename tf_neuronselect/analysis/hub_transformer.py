"""KerasHub's ``TransformerEncoder`` (BERT's block) and ``TransformerDecoder`` (GPT-2's, BART's):
their attention heads and feed-forward neurons are units inside them.

A head is its query, key and value slices and its rows of the attention's output projection
(as in ``MultiHeadAttention``, see attention.py); it contributes exactly zero when its value
slices or its output rows are zero. A decoder's self- and cross-attention heads are separate
kinds of unit (``heads``, ``cross_heads``): each attention loses its own dead heads.

Neuron ``j`` of a block is column ``j`` of the intermediate Dense (kernel and bias) and row
``j`` of the output Dense. It contributes exactly zero when its output row is zero, or when its
column and bias are zero and the activation maps 0 to 0 (relu, gelu: then it emits 0 whatever
the input).

Dead units go, at least one of each kind kept. A block that keeps all its heads is rebuilt as
a block of its own class with a smaller ``intermediate_dim``. The stock blocks derive the head
size ``hidden_dim // num_heads``, so fewer stock heads would be wider heads with another
softmax scale: a block that loses heads is rebuilt as ``HeadPrunedTransformerEncoder`` /
``...Decoder`` (layers/hub_blocks.py, imported only then: it imports keras_hub), which takes
the head size. Its input and output channels (the residual stream) stay.
"""

import collections
import operator

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis.attention import ZERO_OUTPUT
from tf_neuronselect.analysis.attention import ZERO_VALUE
from tf_neuronselect.analysis.attention import HeadSlice
from tf_neuronselect.analysis.attention import InternalUnitsSlicer
from tf_neuronselect.analysis.attention import head_slices
from tf_neuronselect.analysis.attention import slice_norm
from tf_neuronselect.analysis.attention import weights_by_path
from tf_neuronselect.utils.arrays import to_numpy

ZERO_INCOMING = "zero incoming group"
ZERO_OUTGOING = "zero outgoing group"
NEURONS = "intermediate"

# An attention sublayer of a block: its path inside the block, the label of its heads, and the
# config argument of HeadPrunedTransformerEncoder / ...Decoder that counts them.
Attention = collections.namedtuple("Attention", "path label config_key")
# A kind of unit of one block: its label, its attention (None for the neurons), its count.
Part = collections.namedtuple("Part", "label attention count")
# The feed-forward of a block: its weights' paths inside the block (the bias may be absent),
# the attribute (and config argument) counting its neurons, and its activation, read from the
# block.
FeedForward = collections.namedtuple("FeedForward", "kernel_in bias_in kernel_out size activation")
HUB_FEEDFORWARD = FeedForward(
    "feedforward_intermediate_dense/kernel", "feedforward_intermediate_dense/bias",
    "feedforward_output_dense/kernel", "intermediate_dim", operator.attrgetter("activation"))


def maps_zero_to_zero(activation):
    """Whether ``activation(0) == 0`` exactly (a neuron with zero weights then emits 0)."""
    return float(to_numpy(activation(keras.ops.zeros((1,))))[0]) == 0.0


def head_status(weights, attention, count, tol):
    """``(dead, reasons, strength)`` of the ``count`` heads of ``attention`` in a block whose
    ``weights`` are arrays by path: a head with zero value slices or output rows is dead."""
    prefix = f"{attention.path}/"
    dead, reasons, strength = [], [], []
    for head in range(count):
        slices = head_slices(weights, head, (head,), prefix)
        value = slice_norm(weights, slices, (prefix + "value/kernel", prefix + "value/bias"))
        output = slice_norm(weights, slices, (prefix + "attention_output/kernel",))
        dead.append(min(value, output) <= tol)
        reasons.append(None if not dead[-1] else (ZERO_VALUE if value <= tol else ZERO_OUTPUT))
        strength.append(value * output)
    return dead, reasons, strength


def neuron_status(weights, feedforward, activation, count, tol):
    """``(dead, reasons, strength)`` of a block's ``count`` feed-forward neurons."""
    slices = [neuron_slices(feedforward, u, weights) for u in range(count)]
    incoming = np.array([slice_norm(weights, s, (feedforward.kernel_in, feedforward.bias_in))
                         for s in slices])
    outgoing = np.array([slice_norm(weights, s, (feedforward.kernel_out,)) for s in slices])
    silent = (incoming <= tol) & maps_zero_to_zero(activation)
    dead = silent | (outgoing <= tol)
    reasons = [None if not d else (ZERO_INCOMING if s else ZERO_OUTGOING)
               for d, s in zip(dead, silent)]
    return list(dead), reasons, list(incoming * outgoing)


def neuron_slices(feedforward, neuron, paths):
    """Every ``HeadSlice`` of feed-forward neuron ``neuron`` among the weights ``paths`` of
    its block: what produces it, then the row reading it."""
    found = [HeadSlice(feedforward.kernel_in, grouping.STANDARD, grouping.INCOMING, (neuron,)),
             HeadSlice(feedforward.bias_in, grouping.STANDARD, grouping.INCOMING, (neuron,)),
             HeadSlice(feedforward.kernel_out, grouping.STANDARD, grouping.OUTGOING, (neuron,))]
    return [s for s in found if s.path in paths]


class TransformerBlockSlicer(InternalUnitsSlicer):
    """A KerasHub transformer block: heads and feed-forward neurons removed inside, channels
    kept. ``attentions`` are its ``Attention`` sublayers (a decoder's cross-attention exists
    only when it was called with an encoder sequence), ``feedforward`` its ``FeedForward``.
    Units are the heads of each attention the block built, in order, then the neurons."""

    def __init__(self, attentions, feedforward=HUB_FEEDFORWARD):
        self.attentions = tuple(attentions)
        self.feedforward = feedforward

    def parts(self, layer):
        """The block's ``Part``s, in unit order."""
        shapes = {p: tuple(w.shape) for p, w in weights_by_path(layer).items()}
        found = [Part(a.label, a, shapes[f"{a.path}/query/kernel"][1]) for a in self.attentions
                 if f"{a.path}/query/kernel" in shapes]
        return found + [Part(NEURONS, None, int(getattr(layer, self.feedforward.size)))]

    def _locate(self, layer, unit):
        """``(part, index inside it)`` of internal unit ``unit``."""
        for part in self.parts(layer):
            if unit < part.count:
                return part, unit
            unit -= part.count
        raise IndexError(f"unit {unit} past the units of block '{layer.name}'")

    def internal_count(self, layer):
        return sum(part.count for part in self.parts(layer))

    def internal_label(self, layer, unit):
        part, index = self._locate(layer, unit)
        return f"{part.label}[{index}]"

    def unit_slices(self, layer, unit):
        """Every ``HeadSlice`` of internal unit ``unit`` (a head or a neuron)."""
        part, index = self._locate(layer, unit)
        paths = weights_by_path(layer)
        if part.attention is None:
            return neuron_slices(self.feedforward, index, paths)
        return head_slices(paths, index, (index,), f"{part.attention.path}/")

    def internal_status(self, layer, tol):
        """``(dead, reasons, strength)`` of every head, then every neuron."""
        weights = {p: to_numpy(w) for p, w in weights_by_path(layer).items()}
        activation = self.feedforward.activation(layer)
        dead, reasons, strength = [], [], []
        for part in self.parts(layer):
            if part.attention is None:
                found = neuron_status(weights, self.feedforward, activation, part.count, tol)
            else:
                found = head_status(weights, part.attention, part.count, tol)
            for total, values in zip((dead, reasons, strength), found):
                total.extend(values)
        return np.array(dead, dtype=bool), reasons, np.array(strength, dtype=float)

    def internal_keep(self, layer, dead, strength):
        """The alive units, at least one of each kind (an attention without heads, or a
        feed-forward without neurons, cannot be built)."""
        dead, strength = np.asarray(dead), np.asarray(strength)
        kept, start = [], 0
        for part in self.parts(layer):
            span = slice(start, start + part.count)
            kept.append(super().internal_keep(layer, dead[span], strength[span]) + start)
            start += part.count
        return np.concatenate(kept)

    def kept_counts(self, layer, keep):
        """``{part label: units kept}``."""
        counts, start, keep = {}, 0, np.asarray(keep)
        for part in self.parts(layer):
            counts[part.label] = int(np.sum((keep >= start) & (keep < start + part.count)))
            start += part.count
        return counts

    def keeps_every_head(self, layer, keep):
        """Whether ``keep`` holds every head of every attention (the own class then fits)."""
        counts = self.kept_counts(layer, keep)
        return all(counts[p.label] == p.count for p in self.parts(layer) if p.attention)

    def internal_class(self, layer, keep):
        """Its own class, unless heads go: then the class that takes the head size."""
        if self.keeps_every_head(layer, keep):
            return type(layer)
        from tf_neuronselect.layers import hub_blocks  # noqa: PLC0415 (imports keras_hub)

        return hub_blocks.head_pruned_class(type(layer))

    def internal_config(self, layer, keep):
        config = layer.get_config()
        counts = self.kept_counts(layer, keep)
        config[self.feedforward.size] = counts[NEURONS]
        if not self.keeps_every_head(layer, keep):
            parts = [p for p in self.parts(layer) if p.attention]
            config.update({p.attention.config_key: counts[p.label] for p in parts})
            config["key_dim"] = self.key_dim(layer)
        return config

    def key_dim(self, layer):
        """The size of each head (the same in every attention of the block)."""
        first = self.parts(layer)[0].attention
        return int(weights_by_path(layer)[f"{first.path}/query/kernel"].shape[2])

    def internal_macs(self, layer, input_shape, output_shape, keep=None):
        """Each attention with its heads kept (projections, scores, weighted sum, output; keys
        as long as the queries) and the two feed-forward products with the neurons kept (all
        units when ``keep`` is None), per example."""
        steps = int(input_shape[1]) if len(input_shape) == 3 and input_shape[1] else 1
        dim, key_dim = int(input_shape[-1]), self.key_dim(layer)
        keep = range(self.internal_count(layer)) if keep is None else keep
        counts = self.kept_counts(layer, list(keep))
        total = 2 * steps * dim * counts.pop(NEURONS)
        return total + sum(steps * heads * key_dim * (4 * dim + 2 * steps)
                           for heads in counts.values())
