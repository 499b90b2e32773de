"""Parameter and multiply-add counts of a layer before and after narrowing."""

import numpy as np

from tf_neuronselect import grouping


def params_of(layer):
    """Parameters a layer holds (trainable or not), as ``count_params`` counts them."""
    return int(sum(int(np.prod(w.shape)) for w in getattr(layer, "weights", [])))


def unit_macs(layer, shapes_in, shape_out, in_fraction=1.0, out_fraction=1.0):
    """Multiply-adds per example of a Dense/Conv-like layer, with the given fractions of its
    input channels and output units kept."""
    spec = grouping.unit_spec(layer)
    kernel = getattr(layer, spec.kernel)
    transposed = spec.layout == grouping.TRANSPOSED
    positions = _positions(shapes_in[0] if transposed else shape_out)
    size = int(np.prod(kernel.shape))
    if spec.layout == grouping.DEPTHWISE:
        return int(positions * size * out_fraction)
    total = size * in_fraction * out_fraction
    if spec.depthwise:
        total += int(np.prod(getattr(layer, spec.depthwise).shape)) * in_fraction
    return int(round(positions * total))


def _positions(shape):
    return int(np.prod([d for d in shape[1:-1]])) if len(shape) > 2 else 1
