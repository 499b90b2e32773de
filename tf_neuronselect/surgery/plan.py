"""The ``Plan``: for every layer what stays, what it must absorb, and why it was left alone.

A plan is plain data; ``planner.make_plan`` builds it from a model without changing the
model, and ``rewrite.shrink`` executes it.
"""

import dataclasses

import numpy as np

COPY, SLICE, REMOVE, RELU, SCALE, INPUT = "copy", "slice", "remove", "relu", "scale", "input"
DROP = "drop"


@dataclasses.dataclass
class LayerPlan:
    """What happens to one layer.

    Attributes:
        name, class_name: the layer.
        action: "copy" (unchanged), "slice" (narrowed), "remove" (folded away: a Gate, a
            linear TriStateReLU), "relu" (a TriStateReLU that became a ReLU), "scale" (a gate
            that could not be folded, replaced by a BatchNormalization that only scales),
            "input", "drop" (only a branch that no longer depends on the input reads it: it
            goes with the branch, see ``surgery.branches``).
        keep_in: kept channel indices per input tensor; keep_out: kept output channels.
        removed_constants: removed output channel -> the constant it emitted (NaN: unused).
        bias_fold: added to the (original, full-length) bias, or None.
        enable_bias: the layer had no bias and gets one to hold ``bias_fold``.
        in_scale, out_scale: gate factors folded into the input rows / output units.
        scale: the factor of a gate replaced by a scaling BatchNormalization (action "scale").
        relu_after: a ReLU follows the scaling (TriStateReLU with depth gate 0).
        units, dead: output units before and those the selection marks dead.
        reasons: reason -> removed units with it.
        notes: why units or the layer were left alone.
        select: for a model input, or a Flatten reading one, under ``prune_inputs``: the
            features a ``SelectFeatures`` layer inserted after its output keeps (None: no
            layer inserted, every feature stays).
        keep_units: for a layer with units inside (attention heads), the ones it keeps
            (``units``, ``dead`` and ``reasons`` then count those units).
        constant_inputs, add_constant: for an Add summing a branch that no longer depends on
            the input, the keys of those summands and their sum (added as a constant instead).
        dropped_with: for a layer that goes with such a branch ("drop"), that Add's name.
    """

    name: str
    class_name: str
    action: str = COPY
    keep_in: list = None
    keep_out: np.ndarray = None
    removed_constants: dict = dataclasses.field(default_factory=dict)
    bias_fold: np.ndarray = None
    enable_bias: bool = False
    in_scale: np.ndarray = None
    out_scale: np.ndarray = None
    scale: np.ndarray = None
    relu_after: bool = False
    units: int = 0
    dead: int = 0
    reasons: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    params_before: int = 0
    params_after: int = 0
    macs_before: int = 0
    macs_after: int = 0
    select: np.ndarray = None
    keep_units: np.ndarray = None
    constant_inputs: list = None
    add_constant: np.ndarray = None
    dropped_with: str = None

    @property
    def kept_count(self):
        """Units kept (its internal units when it has them), 0 when the layer is dropped with a
        branch, None when the plan keeps no list of them."""
        if self.action == DROP:
            return 0
        kept = self.keep_units if self.keep_units is not None else self.keep_out
        return None if kept is None else len(kept)


@dataclasses.dataclass
class Plan:
    """Every layer's ``LayerPlan``, in topological order (a dict keyed by layer name).

    ``prune_inputs``: unused model-input features are dropped by ``SelectFeatures`` layers
    (see ``LayerPlan.select``); the input-side layer plans carry them as their units.
    """

    tol: float
    round_to: int | None
    layers: dict
    prune_inputs: bool = False

    @property
    def params_before(self):
        return sum(p.params_before for p in self.layers.values())

    @property
    def params_after(self):
        """What ``count_params()`` of the shrunk model will return."""
        return sum(p.params_after for p in self.layers.values())

    @property
    def macs_before(self):
        """Multiply-adds per example of the Dense/Conv-like layers (others count 0)."""
        return sum(p.macs_before for p in self.layers.values())

    @property
    def macs_after(self):
        """Multiply-adds per example of the shrunk model's Dense/Conv-like layers."""
        return sum(p.macs_after for p in self.layers.values())
