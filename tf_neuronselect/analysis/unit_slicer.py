"""The slicer of Dense, Conv, ConvTranspose, DepthwiseConv and SeparableConv layers.

Every layout fact comes from ``tf_neuronselect.grouping``: output units are incoming groups of
the unit kernel, input channels are outgoing groups of the first kernel.
"""

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis.slicers import PINNED
from tf_neuronselect.analysis.slicers import Slicer
from tf_neuronselect.analysis.slicers import UNITS
from tf_neuronselect.analysis.slicers import mixing_activation
from tf_neuronselect.utils.arrays import to_numpy


class UnitSlicer(Slicer):
    """Producer and consumer: output units and input rows are both sliced.

    ``weights`` also takes ``in_scale`` / ``out_scale`` (full-length per-channel factors, or
    None) used to fold a Gate's scale into the kernel rows or columns.
    """

    kind = UNITS

    def role(self, layer):
        # GLU halves the channels: outputs are no longer one per unit, so leave the layer be.
        return PINNED if mixing_activation(layer) == "glu" else UNITS

    def constant(self, layer, values, shapes):
        return np.full(self.num_units(layer), np.nan)  # the planner owns this rule

    def num_units(self, layer):
        spec = grouping.unit_spec(layer)
        kernel = grouping.weight_of(layer, spec.kernel)
        return grouping.num_units(tuple(kernel.shape), spec.layout)

    def config(self, layer, keep_in, keep_out):
        config = layer.get_config()
        for key in ("units", "filters", "output_dim"):
            if key in config:
                config[key] = len(keep_out)
        if isinstance(layer, keras.layers.EinsumDense):
            shape = config["output_shape"]
            config["output_shape"] = tuple(shape[:-1]) + (len(keep_out),) \
                if isinstance(shape, (list, tuple)) else len(keep_out)
        return config

    def weights(self, layer, keep_in, keep_out, bias_fold, in_scale=None, out_scale=None):
        spec = grouping.unit_spec(layer)
        arrays = {name: to_numpy(grouping.weight_of(layer, name))
                  for name in (spec.kernel, spec.depthwise, spec.bias, spec.recurrent)
                  if grouping.weight_of(layer, name) is not None}
        arrays = _slice_inputs(arrays, spec, keep_in, in_scale)
        arrays = _slice_outputs(arrays, spec, keep_out, bias_fold, out_scale)
        if spec.recurrent:
            arrays[spec.recurrent] = _slice_recurrent(arrays[spec.recurrent], spec, keep_out)
        return [arrays[name] for name in _weight_names(layer, spec, arrays)]


def _slice_inputs(arrays, spec, keep_in, in_scale):
    if not spec.reads:
        return arrays
    layout = spec.layout
    first = spec.depthwise or spec.kernel
    first_layout = grouping.DEPTHWISE if spec.depthwise else layout
    if in_scale is not None:
        arrays[first] = grouping.scale_units(arrays[first], first_layout, grouping.OUTGOING,
                                             in_scale)
    if spec.depthwise:
        multiplier = arrays[first].shape[-1]
        mids = grouping.depthwise_units(keep_in, multiplier)
        arrays[first] = grouping.take_units(arrays[first], grouping.DEPTHWISE,
                                            grouping.INCOMING, mids)
        arrays[spec.kernel] = grouping.take_units(arrays[spec.kernel], layout,
                                                  grouping.OUTGOING, mids)
    elif layout != grouping.DEPTHWISE:
        # A depthwise kernel's input channels follow its kept outputs (sliced below).
        arrays[first] = grouping.take_units(arrays[first], layout, grouping.OUTGOING, keep_in)
    return arrays


def _slice_outputs(arrays, spec, keep_out, bias_fold, out_scale):
    kernel = arrays[spec.kernel]
    bias = arrays.get(spec.bias) if spec.bias else None
    if bias_fold is not None:
        bias = (np.zeros(len(bias_fold), kernel.dtype) if bias is None else bias) + bias_fold
    if out_scale is not None:
        kernel = grouping.scale_units(kernel, spec.layout, grouping.INCOMING, out_scale)
        bias = None if bias is None else grouping.scale_units(bias, spec.layout,
                                                              grouping.INCOMING, out_scale)
    arrays[spec.kernel] = grouping.take_units(kernel, spec.layout, grouping.INCOMING, keep_out)
    if bias is not None:
        arrays[spec.bias or "bias"] = grouping.take_units(
            bias, spec.layout, grouping.INCOMING, keep_out).astype(kernel.dtype)
    return arrays


def _slice_recurrent(recurrent, spec, keep_out):
    """A recurrent kernel loses the rows (the units it reads) and the gate columns of every
    removed unit."""
    rows = grouping.take_units(recurrent, grouping.STANDARD, grouping.OUTGOING, keep_out)
    return grouping.take_units(rows, spec.layout, grouping.INCOMING, keep_out)


def _weight_names(layer, spec, arrays):
    """The attribute name of every weight, in ``layer.weights`` order (plus a new bias)."""
    by_id = {id(grouping.weight_of(layer, name)): name for name in arrays
             if grouping.weight_of(layer, name) is not None}
    names = []
    for weight in layer.weights:
        if id(weight) not in by_id:
            raise ValueError(
                f"Expected layer '{layer.name}' ({type(layer).__name__}) to hold only its "
                f"kernel and bias. Received: extra weight '{weight.name}' (LoRA or "
                "quantization?). How to fix: merge or remove it before shrinking."
            )
        names.append(by_id[id(weight)])
    bias_name = spec.bias or "bias"
    if bias_name in arrays and bias_name not in names:
        names.append(bias_name)  # a bias switched on to hold a fold comes last
    return names
