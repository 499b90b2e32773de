"""DropNeuron's li / lo penalties (Pan et al. 2016) with elastic-net L1/L2 terms."""

from keras import ops

from tf_neuronselect import grouping
from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.ops.proximal import soft_threshold
from tf_neuronselect.regularizers.base import ProximalPenalty
from tf_neuronselect.regularizers.unit_groups import group_directions
from tf_neuronselect.regularizers.unit_groups import group_prox
from tf_neuronselect.regularizers.unit_groups import sum_of_group_norms
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_non_negative_float


@neuronselect_export
class DropNeuron(ProximalPenalty):
    """DropNeuron's cost on one kernel: ``li * sum_j ||W[:, j]|| + lo * sum_i ||W[i, :]||
    + l1 * ||W||_1 + l2 * ||W||_2^2``.

    ``li`` (incoming) drives whole output units to zero; ``lo`` (outgoing) drives whole input
    units to zero. As in the paper's code there is no ``sqrt(group size)`` factor. The ``l2``
    term is smooth and always stays in the loss. A proximal optimizer applies the L1, li and lo
    proxes one after the other; this is the exact prox when at most one of li/lo is non-zero
    (sparse group lasso) and a standard splitting approximation when both are.

    Args:
        li: strength of the incoming-group penalty.
        lo: strength of the outgoing-group penalty.
        l1: strength of the element-wise L1 penalty.
        l2: strength of the squared L2 penalty.
        layout: kernel layout (see ``tf_neuronselect.grouping``).
    """

    def __init__(self, li=0.0, lo=0.0, l1=0.0, l2=0.0, layout="standard"):
        super().__init__()
        self.li = validate_non_negative_float(li, "li", "DropNeuron")
        self.lo = validate_non_negative_float(lo, "lo", "DropNeuron")
        self.l1 = validate_non_negative_float(l1, "l1", "DropNeuron")
        self.l2 = validate_non_negative_float(l2, "l2", "DropNeuron")
        self.layout = validate_choice(layout, "layout", grouping.LAYOUTS, "DropNeuron")

    def smooth_penalty(self, x):
        return ops.cast(self.l2, x.dtype) * ops.sum(ops.square(x))

    def nonsmooth_penalty(self, x):
        value = ops.cast(self.l1, x.dtype) * ops.sum(ops.abs(x))
        if self.li:
            value += self.li * sum_of_group_norms(x, self.layout, grouping.INCOMING)
        if self.lo:
            value += self.lo * sum_of_group_norms(x, self.layout, grouping.OUTGOING)
        return value

    def nonsmooth_gradient(self, x):
        gradient = self.l1 * ops.sign(x)
        if self.li:
            gradient += self.li * group_directions(x, self.layout, grouping.INCOMING)
        if self.lo:
            gradient += self.lo * group_directions(x, self.layout, grouping.OUTGOING)
        return gradient

    def prox(self, x, step, bias=None):
        if self.l1:
            x = soft_threshold(x, step * self.l1)
        if self.li:
            x = group_prox(x, step * self.li, self.layout, grouping.INCOMING)
        if self.lo:
            x = group_prox(x, step * self.lo, self.layout, grouping.OUTGOING)
        return x, bias

    def get_config(self):
        return {"li": self.li, "lo": self.lo, "l1": self.l1, "l2": self.l2, "layout": self.layout}
