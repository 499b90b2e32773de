"""How each layer class is narrowed: a registry of slicer objects, keyed by exact class.

A slicer answers four questions about a layer:
- ``role(layer)``: how channels flow through it, one of ``ROLES``;
- ``constant(layer, values, shapes)``: what it outputs per channel when input channel ``i`` is
  the constant ``values[k][i]`` (NaN: not constant); NaN output is always safe;
- ``config(layer, keep_in, keep_out)``: the config of the narrowed layer;
- ``weights(layer, keep_in, keep_out, bias_fold)``: its weights, in ``layer.weights`` order.

``keep_in`` is the array of kept input channels (a list of arrays for layers with several
inputs), ``keep_out`` the kept output channels; ``bias_fold`` (or None) is added to the bias
before slicing. Register a slicer for your own layer with ``register_slicer``.
"""

import keras
import numpy as np

from tf_neuronselect.layers import gating
from tf_neuronselect.utils.arrays import to_numpy

# Activations whose output for one channel depends on the other channels of the same position.
MIXING_ACTIVATIONS = ("softmax", "log_softmax", "sparsemax", "glu")


def mixing_activation(layer):
    """The name of ``layer``'s activation if it mixes channels (softmax, ...), else None."""
    name = getattr(getattr(layer, "activation", None), "__name__", "")
    return name if name in MIXING_ACTIVATIONS else None


UNITS = "units"
CHANNELWISE = "channelwise"
MERGE = "merge"
CONCATENATE = "concatenate"
FLATTEN = "flatten"
PINNED = "pinned"
INPUT = "input"
ROLES = (UNITS, CHANNELWISE, MERGE, CONCATENATE, FLATTEN, PINNED, INPUT)


class Slicer:
    """Base slicer: a channel-preserving layer (output channel c is a function of input
    channel c only) whose per-channel weights lie on their last axis; not constant-aware."""

    kind = CHANNELWISE

    def role(self, layer):
        """How channels flow through ``layer`` (one of ``ROLES``)."""
        if getattr(layer, "data_format", "channels_last") == "channels_first":
            return PINNED
        return self.kind

    def constant(self, layer, values, shapes):
        """Output constant per channel; NaN where unknown (the safe default)."""
        return np.full_like(values[0], np.nan)

    def config(self, layer, keep_in, keep_out):
        """Config of the narrowed layer (unchanged for channel-preserving layers)."""
        return layer.get_config()

    def weights(self, layer, keep_in, keep_out, bias_fold):
        """Every weight sliced on its last axis by ``keep_out``."""
        return [np.take(to_numpy(w), keep_out, axis=-1) if len(w.shape) else to_numpy(w)
                for w in layer.weights]


class SameConstant(Slicer):
    """Pooling, cropping, up-sampling: a constant channel stays the same constant."""

    def constant(self, layer, values, shapes):
        return values[0].copy()


class ZeroConstant(Slicer):
    """Zero padding: only a zero constant stays constant (the border is zero)."""

    def constant(self, layer, values, shapes):
        return np.where(values[0] == 0, 0.0, np.nan)


class Elementwise(Slicer):
    """Activations, normalization with per-channel statistics, dropout: the constant output
    is computed by running the layer itself on the constant input (inference mode)."""

    def role(self, layer):
        if mixing_activation(layer):
            return PINNED
        axis = getattr(layer, "axis", -1)
        if isinstance(layer, keras.layers.BatchNormalization) and axis not in (
                -1, len(layer.input.shape) - 1):
            return PINNED
        return super().role(layer)

    def constant(self, layer, values, shapes):
        return _evaluate(layer, values, shapes)


class GateLike(Elementwise):
    """Gate and TriStateReLU: a closed channel emits exactly zero whatever its input."""

    constant_rule = "gate closed in '{name}'"

    def constant(self, layer, values, shapes):
        out = _evaluate(layer, values, shapes)
        out[gating.closed_channels(layer)] = 0.0
        return out


class MergeSlicer(Slicer):
    """Add, Multiply, ...: channel c of every operand meets channel c of the output."""

    kind = MERGE

    def constant(self, layer, values, shapes):
        return _evaluate(layer, values, shapes)


class ProductSlicer(MergeSlicer):
    """Multiply: a channel that is exactly zero in one operand is zero in the product, whatever
    the others hold (a squeeze-and-excitation gate times a dead channel)."""

    constant_rule = "multiplied by zero in '{name}'"
    zero_absorbing = True

    def constant(self, layer, values, shapes):
        return zero_where_a_factor_is_zero(_evaluate(layer, values, shapes), values)


def zero_where_a_factor_is_zero(result, values):
    """``result`` with 0 in every channel where one of the multiplied ``values`` is exactly 0
    (a factor broadcast from one channel counts for all)."""
    result = result.copy()
    for v in values:
        zero = v == 0
        result[zero if len(zero) == len(result) else np.full(len(result), zero.all())] = 0.0
    return result


class ConcatenateSlicer(Slicer):
    """Concatenate on the last axis: channels are stacked at offsets."""

    kind = CONCATENATE

    def role(self, layer):
        if layer.axis not in (-1, len(layer.output.shape) - 1):
            return PINNED
        return CONCATENATE

    def constant(self, layer, values, shapes):
        return np.concatenate(values)


class FlattenSlicer(Slicer):
    """channels_last Flatten: input channel c becomes positions p*C + c."""

    kind = FLATTEN

    def constant(self, layer, values, shapes):
        positions = int(np.prod(shapes[0][1:-1])) if len(shapes[0]) > 2 else 1
        return np.tile(values[0], positions)


class ReshapeSlicer(Slicer):
    """Reshape that keeps the last axis (channel-preserving) or flattens everything."""

    def role(self, layer):
        source, target = layer.input.shape[1:], tuple(layer.target_shape)
        if len(target) == 1 and len(source) > 1 and None not in source:
            return FLATTEN
        if source and target and target[-1] == source[-1]:
            return CHANNELWISE
        return PINNED

    def constant(self, layer, values, shapes):
        if self.role(layer) == FLATTEN:
            return FlattenSlicer().constant(layer, values, shapes)
        return values[0].copy()

    def config(self, layer, keep_in, keep_out):
        config = layer.get_config()
        config["target_shape"] = tuple(layer.target_shape[:-1]) + (len(keep_out),)
        return config

    def weights(self, layer, keep_in, keep_out, bias_fold):
        return []


class PinnedSlicer(Slicer):
    """Layers that mix channels (softmax, layer normalization): nothing is removed through
    them; they are copied unchanged."""

    kind = PINNED


class InputSlicer(PinnedSlicer):
    """Model inputs keep their shape."""

    kind = INPUT


def _evaluate(layer, values, shapes):
    """Runs ``layer`` on inputs that hold ``values`` at one position (all other axes 1) and
    returns the per-channel output, NaN where an input was not constant or the output varies
    along a non-channel axis."""
    return evaluate_constant(
        lambda arrays: layer(arrays[0] if len(arrays) == 1 else arrays, training=False),
        values, shapes)


def evaluate_constant(run, values, shapes):
    """``run(arrays)`` on arrays that hold ``values`` at one position (all other axes 1): the
    per-channel output, NaN where an input was not constant or the output varies along a
    non-channel axis."""
    arrays = [np.nan_to_num(v).reshape((1,) * (len(s) - 1) + (-1,)).astype("float32")
              for v, s in zip(values, shapes)]
    output = to_numpy(run(arrays))
    flat = output.reshape(-1, output.shape[-1]).astype(np.float64)
    result = flat[0].copy()
    result[np.any(flat != flat[0], axis=0)] = np.nan
    for v in values:
        unknown = np.isnan(v)
        result[unknown if len(v) == len(result) else np.full(len(result), unknown.any())] = np.nan
    return result


class Scale(Elementwise):
    """A layer that multiplies every channel by its entry of one weight (``x * gamma``, e.g.
    ConvNeXt's LayerScale): a channel whose entry is 0 is exactly 0 whatever its input.

    Args:
        weight: attribute name of the per-channel factor.
        size_key: the config entry holding the number of channels, if there is one.
    """

    constant_rule = "scale = 0 in '{name}'"

    def __init__(self, weight="gamma", size_key=None):
        self.weight = weight
        self.size_key = size_key

    def constant(self, layer, values, shapes):
        out = _evaluate(layer, values, shapes)
        out[to_numpy(getattr(layer, self.weight)).reshape(-1) == 0] = 0.0
        return out

    def config(self, layer, keep_in, keep_out):
        config = layer.get_config()
        if self.size_key:
            config[self.size_key] = len(keep_out)
        return config


class BatchNormSlicer(Elementwise):
    """BatchNormalization: at inference ``gamma * (x - mean) / sqrt(var + eps) + beta``, so a
    channel whose gamma is 0 emits ``beta`` whatever its input (0 when beta is 0 too: Network
    Slimming's sign of a dead channel)."""

    constant_rule = "gamma = 0 in BatchNormalization '{name}'"

    def constant(self, layer, values, shapes):
        out = _evaluate(layer, values, shapes)
        if layer.scale:
            silenced = to_numpy(layer.gamma) == 0
            beta = to_numpy(layer.beta) if layer.center else np.zeros(len(out))
            out[silenced] = beta[silenced]
        return out


def apply_activation(layer, values):
    """``layer.activation`` applied to ``values``; NaN entries stay NaN."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        return values
    tensor = keras.ops.convert_to_tensor(np.nan_to_num(values).astype("float32"))
    out = to_numpy(activation(tensor)).astype(np.float64)
    out[np.isnan(values)] = np.nan
    return out


class ChannelwiseConv(Slicer):
    """A convolution with ``groups`` equal to its input and output channels (ConvNeXt's
    depthwise ``Conv2D(groups=C)``): output channel c reads input channel c only."""

    constant_rule = "zero kernel in '{name}'"

    def role(self, layer):
        return PINNED if not is_channelwise_conv(layer) else super().role(layer)

    def constant(self, layer, values, shapes):
        kernel = to_numpy(layer.kernel).astype(np.float64)
        taps = kernel.reshape(-1, kernel.shape[-1]).sum(axis=0)
        silent = np.all(kernel.reshape(-1, kernel.shape[-1]) == 0, axis=0)
        bias = to_numpy(layer.bias).astype(np.float64) if layer.use_bias else 0.0 * taps
        inputs = values[0]
        # Zero padding only matters for a non-zero constant under 'same' padding.
        reachable = np.isfinite(inputs) & ((inputs == 0) | (layer.padding == "valid"))
        live = np.where(reachable, np.nan_to_num(inputs) * taps + bias, np.nan)
        return apply_activation(layer, np.where(silent, bias, live))

    def config(self, layer, keep_in, keep_out):
        config = layer.get_config()
        config["filters"] = config["groups"] = len(keep_out)
        return config


def is_channelwise_conv(layer):
    """True for a stock convolution whose every group is one input and one output channel."""
    groups = getattr(layer, "groups", 1)
    kernel = getattr(layer, "kernel", None)
    return (groups > 1 and kernel is not None and kernel.shape[-2] == 1
            and kernel.shape[-1] == groups)
