"""Which slice of which weight belongs to each unit: the only module that knows kernel layouts.

A *unit* is one output channel of a layer (a neuron of a Dense layer, a filter of a convolution).
Its *incoming group* is every kernel weight that feeds it; the *outgoing group* of an input channel
is every kernel weight that reads it. Three kernel layouts cover the stock Keras layers:

- ``"standard"``: ``(..., in, out)``, used by Dense, Conv1D/2D/3D and the pointwise kernel of
  SeparableConv1D/2D.
- ``"transposed"``: ``(..., out, in)``, used by Conv1DTranspose/2DTranspose/3DTranspose.
- ``"depthwise"``: ``(..., in, multiplier)``, used by DepthwiseConv1D/2D and the depthwise kernel of
  SeparableConv1D/2D. Input channel ``c`` feeds outputs ``c*m ... c*m+m-1``.
- ``"lstm"`` / ``"gru"``: ``(..., in, gates * units)``, the kernels and biases of LSTM (4 gates)
  and GRU (3 gates) cells: unit ``j``'s incoming group is column ``j`` of every gate block
  (columns ``g * units + j``); rows are input units as in ``"standard"``.
- ``"heads"``: ``(in, heads, head_dim)`` and ``(heads, head_dim)``, the query, key and value
  projections of attention: a head's incoming group is ``[..., h, :]``.
- ``"head_rows"``: ``(heads, head_dim, out)``, an attention output projection: a head's
  outgoing group is ``[h, :, :]``; its incoming units are the output channels.
- ``"heads_first"``: ``(heads, in, head_dim)``, a projection written as the EinsumDense
  ``"btd,ndh->btnh"`` (Gemma's query, key and value): a head's incoming group is ``[h, :, :]``;
  its outgoing units are the input channels.

A rank-1 weight (a bias) has one entry per output unit whatever the layout.

``unit_matrix`` reshapes a kernel to ``(group_size, units)`` with ``keras.ops`` so the penalties and
the proximal step work on any backend; ``take_units`` and ``unit_norms_numpy`` are the NumPy
counterparts the selection and the rewriter use.
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from tf_neuronselect.utils.validation import validate_choice

STANDARD = "standard"
TRANSPOSED = "transposed"
DEPTHWISE = "depthwise"
HEADS = "heads"
HEAD_ROWS = "head_rows"
HEADS_FIRST = "heads_first"
GATES = {"lstm": 4, "gru": 3}
LAYOUTS = (STANDARD, TRANSPOSED, DEPTHWISE, HEADS, HEAD_ROWS, HEADS_FIRST) + tuple(GATES)
INCOMING = "incoming"
OUTGOING = "outgoing"
SIDES = (INCOMING, OUTGOING)


def unit_axes(rank, layout, side):
    """The axes of a weight of ``rank`` that index units; the other axes form each unit's group.

    For ``("depthwise", "incoming")`` two axes index a unit: ``(in, multiplier)``, flattened in
    row-major order so that unit ``c*m + k`` is ``kernel[..., c, k]``, matching the layer's output.
    """
    validate_choice(layout, "layout", LAYOUTS, "unit_axes")
    validate_choice(side, "side", SIDES, "unit_axes")
    if layout in GATES:
        if side == INCOMING:
            raise ValueError(f"unit_axes: a '{layout}' weight's incoming units are spread over "
                             "its gate blocks; use the grouping functions, which split them.")
        layout = STANDARD
    if layout in (HEADS, HEAD_ROWS, HEADS_FIRST):
        return _head_axes(rank, layout, side)
    if rank == 1:
        if side == OUTGOING:
            raise ValueError(
                "unit_axes: a rank-1 weight (a bias) has no outgoing groups. "
                "Received: rank=1, side='outgoing'. Use side='incoming'."
            )
        return (0,)
    if rank < 2:
        raise ValueError(f"unit_axes: expected a weight of rank >= 1. Received: rank={rank}.")
    last, before_last = rank - 1, rank - 2
    if layout == STANDARD:
        return (last,) if side == INCOMING else (before_last,)
    if layout == TRANSPOSED:
        return (before_last,) if side == INCOMING else (last,)
    return (before_last, last) if side == INCOMING else (before_last,)


def _head_axes(rank, layout, side):
    if layout == HEADS:  # (in, heads, dim) or a bias (heads, dim)
        return (rank - 2,) if side == INCOMING else (0,)
    if layout == HEADS_FIRST:  # (heads, in, dim): an EinsumDense "btd,ndh->btnh" (Gemma)
        return (0,) if side == INCOMING else (1,)
    return (rank - 1,) if side == INCOMING else (0,)  # (heads, dim, out)


def _split(shape, layout, side):
    """``(shape, layout)`` to index units with: a gated weight's last axis split into
    ``(gates, units)`` on the incoming side, so its units lie on the last axis."""
    if layout in GATES and side == INCOMING:
        gates = GATES[layout]
        return tuple(shape[:-1]) + (gates, shape[-1] // gates), STANDARD
    return tuple(shape), STANDARD if layout in GATES else layout


def _gated(layout, side):
    return layout in GATES and side == INCOMING


def _group_permutation(rank, layout, side):
    units = unit_axes(rank, layout, side)
    others = tuple(a for a in range(rank) if a not in units)
    return others + units, len(units)


def num_units(shape, layout, side=INCOMING):
    """How many units (groups) a weight of ``shape`` has on ``side``."""
    shape, layout = _split(shape, layout, side)
    axes = unit_axes(len(shape), layout, side)
    return int(np.prod([shape[a] for a in axes]))


def group_size(shape, layout, side=INCOMING):
    """How many weights each group of a weight of ``shape`` holds (P in the group lasso)."""
    return int(np.prod(shape)) // num_units(shape, layout, side)


def unit_matrix(x, layout, side=INCOMING):
    """``x`` reshaped (with ``keras.ops``) to ``(group_size, units)``: column j is unit j's group."""
    shape, base = _split(tuple(x.shape), layout, side)
    if _gated(layout, side):
        return unit_matrix(ops.reshape(x, shape), base, side)
    layout = base
    perm, _ = _group_permutation(len(x.shape), layout, side)
    moved = ops.transpose(x, perm) if perm != tuple(range(len(perm))) else x
    return ops.reshape(moved, (-1, num_units(tuple(x.shape), layout, side)))


def group_sums(x, layout, side=INCOMING):
    """Each group's sum of ``x`` (``keras.ops``), shape ``(units,)``, in ``unit_matrix``'s unit
    order: ``ops.sum(unit_matrix(x), axis=0)`` without moving ``x`` in memory, so one
    ``ops.square`` of a kernel serves both of its sides."""
    shape, base = _split(tuple(x.shape), layout, side)
    if _gated(layout, side):
        return group_sums(ops.reshape(x, shape), base, side)
    units = unit_axes(len(shape), base, side)
    others = tuple(a for a in range(len(shape)) if a not in units)
    return ops.reshape(ops.sum(x, axis=others) if others else x, (-1,))


def from_unit_matrix(matrix, shape, layout, side=INCOMING):
    """Inverse of ``unit_matrix``: back to a weight of ``shape``."""
    split, base = _split(tuple(shape), layout, side)
    if _gated(layout, side):
        return ops.reshape(from_unit_matrix(matrix, split, base, side), tuple(shape))
    layout = base
    perm, _ = _group_permutation(len(shape), layout, side)
    moved = ops.reshape(matrix, tuple(shape[a] for a in perm))
    if perm == tuple(range(len(perm))):
        return moved
    return ops.transpose(moved, tuple(int(i) for i in np.argsort(perm)))


def unit_norms_numpy(array, layout, side=INCOMING):
    """Euclidean norm of every group of a NumPy weight, shape ``(units,)``."""
    shape, base = _split(array.shape, layout, side)
    if _gated(layout, side):
        return unit_norms_numpy(array.reshape(shape), base, side)
    layout = base
    perm, _ = _group_permutation(array.ndim, layout, side)
    matrix = np.transpose(array, perm).reshape(-1, num_units(array.shape, layout, side))
    return np.sqrt(np.sum(np.square(matrix.astype(np.float64)), axis=0))


def take_units(array, layout, side, indices):
    """The NumPy weight with only the units ``indices`` kept on ``side`` (in the given order)."""
    indices = np.asarray(indices, dtype=np.int64)
    shape, base = _split(array.shape, layout, side)
    if _gated(layout, side):
        kept = np.take(array.reshape(shape), indices, axis=-1)
        return kept.reshape(array.shape[:-1] + (-1,))
    layout = base
    axes = unit_axes(array.ndim, layout, side)
    if len(axes) == 1:
        return np.take(array, indices, axis=axes[0])
    # Depthwise incoming units are (channel, multiplier) pairs; they can only be kept per channel.
    channels, multiplier = array.shape[-2], array.shape[-1]
    if len(indices) % multiplier:
        raise ValueError(
            "take_units: a depthwise kernel keeps whole input channels (all of their "
            f"{multiplier} multiplier outputs). Received {len(indices)} output units, "
            f"not a multiple of {multiplier}."
        )
    flat = array.reshape(array.shape[:-2] + (channels * multiplier,))
    kept = np.take(flat, indices, axis=-1)
    return kept.reshape(array.shape[:-2] + (len(indices) // multiplier, multiplier))


@dataclasses.dataclass(frozen=True)
class UnitSpec:
    """Where a layer keeps the weights that define its output units.

    Attributes:
        kernel: attribute name of the kernel whose incoming groups define the output units.
        layout: that kernel's layout, one of ``LAYOUTS``.
        bias: attribute name of the per-unit bias, or None.
        depthwise: attribute name of a depthwise kernel applied before ``kernel`` (SeparableConv),
            or None.
        regularizer: attribute name of the layer's regularizer for ``kernel`` (what its config
            serializes).
        recurrent: attribute path of a recurrent kernel (RNN layers): ``(units, gates *
            units)``, whose columns join each unit's incoming group and whose rows go with it.
        reads: False when the layer's input has no channels to prune (an Embedding reads
            token ids: its kernel's rows are the vocabulary, not input channels).

    Attribute names may be dotted paths into sublayers (``"cell.kernel"``).
    """

    kernel: str
    layout: str
    bias: str | None = "bias"
    depthwise: str | None = None
    regularizer: str = "kernel_regularizer"
    recurrent: str | None = None
    reads: bool = True


def _recurrent(layout):
    # An RNN layer keeps its weights and regularizers on its cell.
    return UnitSpec("cell.kernel", layout, bias="cell.bias", regularizer="cell.kernel_regularizer",
                    recurrent="cell.recurrent_kernel")


_SEPARABLE = UnitSpec(
    "pointwise_kernel", STANDARD, depthwise="depthwise_kernel", regularizer="pointwise_regularizer"
)
_SPECS = {
    keras.layers.Dense: UnitSpec("kernel", STANDARD),
    keras.layers.Conv1D: UnitSpec("kernel", STANDARD),
    keras.layers.Conv2D: UnitSpec("kernel", STANDARD),
    keras.layers.Conv3D: UnitSpec("kernel", STANDARD),
    keras.layers.Conv1DTranspose: UnitSpec("kernel", TRANSPOSED),
    keras.layers.Conv2DTranspose: UnitSpec("kernel", TRANSPOSED),
    keras.layers.Conv3DTranspose: UnitSpec("kernel", TRANSPOSED),
    keras.layers.DepthwiseConv1D: UnitSpec("kernel", DEPTHWISE, regularizer="depthwise_regularizer"),
    keras.layers.DepthwiseConv2D: UnitSpec("kernel", DEPTHWISE, regularizer="depthwise_regularizer"),
    keras.layers.SeparableConv1D: _SEPARABLE,
    keras.layers.SeparableConv2D: _SEPARABLE,
    keras.layers.SimpleRNN: _recurrent(STANDARD),
    keras.layers.LSTM: _recurrent("lstm"),
    keras.layers.GRU: _recurrent("gru"),
    keras.layers.Embedding: UnitSpec("embeddings", STANDARD, bias=None,
                                     regularizer="embeddings_regularizer", reads=False),
}


def _einsum_spec(layer):
    """A Dense in disguise: ``EinsumDense("...x,xy->...y")`` with a bias on ``y`` or none."""
    inputs, _, output = layer.equation.partition("->")
    operand, _, kernel = inputs.partition(",")
    if len(kernel) != 2 or not operand or not output or operand[-1] != kernel[0] \
            or output[-1] != kernel[1] or kernel[0] in output or kernel[1] in operand:
        return None
    if getattr(layer, "bias_axes", None) not in (None, kernel[1]):
        return None
    return UnitSpec("kernel", STANDARD, bias="bias" if layer.bias_axes else None)


_DYNAMIC_SPECS = {keras.layers.EinsumDense: _einsum_spec}


def weight_of(layer, path):
    """The attribute ``path`` of ``layer`` (dotted for a sublayer's weight, as in
    ``"cell.kernel"``), or None when ``path`` is None or the attribute is missing."""
    value = layer
    for name in (path.split(".") if path else [None]):
        value = getattr(value, name, None) if name else None
    return value


def set_attribute(layer, path, value):
    """Sets the attribute ``path`` of ``layer`` (dotted for a sublayer, as in
    ``"cell.kernel_regularizer"``) to ``value``."""
    owner_path, _, name = path.rpartition(".")
    setattr(weight_of(layer, owner_path) if owner_path else layer, name, value)


def register_unit_spec(layer_class, spec):
    """Declares where ``layer_class`` (exact class, not its subclasses) keeps its unit weights."""
    if not isinstance(layer_class, type) or not issubclass(layer_class, keras.layers.Layer):
        raise TypeError(
            "register_unit_spec: expected a keras.layers.Layer subclass. "
            f"Received: layer_class={layer_class!r}."
        )
    if not isinstance(spec, UnitSpec):
        raise TypeError(f"register_unit_spec: expected a UnitSpec. Received: spec={spec!r}.")
    validate_choice(spec.layout, "spec.layout", LAYOUTS, "register_unit_spec")
    _SPECS[layer_class] = spec


def unit_spec(layer):
    """The ``UnitSpec`` of ``layer``, or None when the layer has no prunable units.

    The lookup is by exact class: a subclass may change what its weights mean, so it must be
    registered with ``register_unit_spec`` instead of being guessed.
    """
    spec = layout_spec(layer)
    if spec is not None and getattr(layer, "groups", 1) != 1:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) uses grouped convolution "
            f"(groups={layer.groups}); tf_neuronselect supports groups=1 only. "
            "Use DepthwiseConv or SeparableConv layers, or leave this layer unregularized."
        )
    return spec


def layout_spec(layer):
    """The ``UnitSpec`` of ``layer``'s class whatever its ``groups`` (None for other layers):
    where its kernel is, to count its cost. Use ``unit_spec`` to decide what can be pruned."""
    if type(layer) in _DYNAMIC_SPECS:
        return _DYNAMIC_SPECS[type(layer)](layer)
    return _SPECS.get(type(layer))


def is_grouped_convolution(layer):
    """True for a stock convolution with ``groups > 1``: it has no per-unit grouping here, so
    penalties skip it unless named and the rewriter copies it unchanged."""
    return type(layer) in _SPECS and getattr(layer, "groups", 1) != 1


def require_unit_spec(layer):
    """Like ``unit_spec`` but raises a ``ValueError`` naming the layer when it has none."""
    spec = unit_spec(layer)
    if spec is None:
        supported = ", ".join(sorted(c.__name__ for c in _SPECS))
        raise ValueError(
            f"Layer '{layer.name}' of type {type(layer).__name__} has no known per-unit "
            f"grouping. Expected one of: {supported}. To use a custom layer, declare its "
            "weights with tf_neuronselect.grouping.register_unit_spec(YourLayer, UnitSpec(...))."
        )
    return spec


def depthwise_units(channels, multiplier):
    """The incoming unit indices ``c*m ... c*m+m-1`` of every depthwise input channel in
    ``channels``, in order: the outputs a depthwise kernel derives from those channels."""
    channels = np.asarray(channels, dtype=np.int64)
    return (channels[:, None] * multiplier + np.arange(multiplier)[None, :]).reshape(-1)


def scale_units(array, layout, side, factors):
    """The NumPy weight with every group on ``side`` multiplied by its entry of ``factors``."""
    factors = np.asarray(factors, dtype=array.dtype)
    shape, base = _split(array.shape, layout, side)
    if _gated(layout, side):
        return scale_units(array.reshape(shape), base, side, factors).reshape(array.shape)
    layout = base
    axes = unit_axes(array.ndim, layout, side)
    shape = [1] * array.ndim
    for axis in axes:
        shape[axis] = array.shape[axis]
    return array * factors.reshape(shape)


def constant_response(kernel, layout, values):
    """What each output unit of ``kernel`` receives when input channel ``i`` is the constant
    ``values[i]`` at every position a kernel tap reads (no zero padding): shape ``(units,)``
    (for gated layouts, one entry per column: what each gate's bias must gain).

    Every tap sees the constant, so the spatial axes are summed; this is the amount to add to
    the bias when those inputs are removed.
    """
    values = np.asarray(values, dtype=np.float64)
    summed = kernel.astype(np.float64).reshape((-1,) + kernel.shape[-2:]).sum(axis=0)
    if layout == STANDARD or layout in GATES:
        return values @ summed
    if layout == TRANSPOSED:
        return summed @ values
    validate_choice(layout, "layout", LAYOUTS, "constant_response")
    return (values[:, None] * summed).reshape(-1)
