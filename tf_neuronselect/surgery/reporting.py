"""``report``: what is dead in a model and what shrinking it would save; ``model_size``: the size
``shrink`` would give now."""

import dataclasses

import keras
import numpy as np

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.surgery.rewrite import rebuild


@dataclasses.dataclass
class LayerReport:
    """One layer's line in a ``Report``.

    Attributes:
        name, class_name: the layer.
        units: output units (channels) before; ``dead``: units the selection marks dead;
            ``kept``: units the plan keeps (dead units can stay, see ``notes``).
        params_before, params_after, macs_before, macs_after: parameter count and
            multiply-adds per example before and after the plan.
        reasons: reason -> number of removed units with that reason.
        notes: why the plan left units or the layer alone.
        dropped_with: the residual Add that now adds this layer's branch as a constant (the
            layer goes with the branch), or None.
    """

    name: str
    class_name: str
    units: int
    dead: int
    kept: int
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    reasons: dict
    notes: list
    dropped_with: str | None = None


@dataclasses.dataclass
class Report:
    """What ``tf_neuronselect.report`` found, per layer and in total.

    Attributes:
        tol: the tolerance used.
        layers: ``LayerReport`` per layer with units or parameters.
        max_output_change: max |shrunk - original| output on the sample inputs, or None.
    """

    tol: float
    layers: list
    max_output_change: float | None = None

    def total(self, field):
        """Sum of ``field`` (e.g. "params_after") over all layers."""
        return int(sum(getattr(layer, field) for layer in self.layers))

    def to_dict(self):
        """A JSON-serializable dict."""
        totals = {f: self.total(f) for f in ("params_before", "params_after",
                                             "macs_before", "macs_after")}
        return {
            "tol": float(self.tol),
            "max_output_change": self.max_output_change,
            "totals": totals,
            "layers": [dataclasses.asdict(layer) for layer in self.layers],
        }

    def __str__(self):
        header = (f"{'layer':<28}{'class':<22}{'kept/units':>12}{'dead':>6}"
                  f"{'params':>20}{'MACs':>24}")
        lines = [header, "-" * len(header)]
        for r in self.layers:
            lines.append(
                f"{r.name[:27]:<28}{r.class_name[:21]:<22}{f'{r.kept}/{r.units}':>12}"
                f"{r.dead:>6}{f'{r.params_before}->{r.params_after}':>20}"
                f"{f'{r.macs_before}->{r.macs_after}':>24}")
        lines.append("-" * len(header))
        lines.append(
            f"total params {self.total('params_before')} -> {self.total('params_after')}, "
            f"MACs {self.total('macs_before')} -> {self.total('macs_after')}")
        if self.max_output_change is not None:
            lines.append(f"max output change on sample inputs: {self.max_output_change:.3g}")
        return "\n".join(lines + self._why_lines())

    def _why_lines(self):
        """One line per layer that loses units: how many, and the rule that let each go."""
        lines = [f"  {r.name}: " + "; ".join(f"{n} {why}" for why, n in r.reasons.items())
                 for r in self.layers if r.reasons and not r.dropped_with]
        by_add = {}
        for r in self.layers:
            if r.dropped_with:
                by_add.setdefault(r.dropped_with, []).append(r.name)
        lines += [f"  {', '.join(dropped)}: dropped, their branch into '{add}' no longer "
                  "depends on the input (added as a constant)" for add, dropped in by_add.items()]
        return ["removed units, and why:"] + lines if lines else []


def model_size(model, tol=0.0):
    """``{"params": ..., "macs": ...}`` of the model ``tf_neuronselect.shrink`` would make now.

    ``params`` is the shrunk model's ``count_params()``; ``macs`` the multiply-adds per example
    of its Dense/Conv-like layers (``ns.count_macs`` counts the same layers). One ``make_plan``:
    it reads weights and static shapes only, no data.
    """
    plan = make_plan(model, tol)
    return {"params": int(plan.params_after), "macs": int(plan.macs_after)}


def report(model, tol=0.0, sample_inputs=None, prune_inputs=False):
    """A ``Report`` of dead units per layer, parameters and multiply-adds before/after.

    Args:
        model: a Functional or Sequential ``keras.Model``.
        tol: group-norm tolerance below which a unit counts as dead.
        sample_inputs: optional inputs; if given, the shrunk model is built and the largest
            absolute output change it causes on them is reported.
        prune_inputs: plan as ``shrink(..., prune_inputs=True)`` does: the model input (or
            the Flatten reading it) gets a line whose units are its features, kept/total.
    """
    graph = ModelGraph(model)
    if sample_inputs is not None:
        _check_sample_inputs(model, sample_inputs)
    plan = make_plan(graph, tol, prune_inputs=prune_inputs)
    layers = [_layer_report(p) for p in plan.layers.values() if p.units or p.params_before]
    change = None
    if sample_inputs is not None:
        change = _max_change(model, rebuild(graph, plan), sample_inputs)
    return Report(tol=plan.tol, layers=layers, max_output_change=change)


def _layer_report(plan):
    kept = plan.kept_count if plan.units else 0
    return LayerReport(
        name=plan.name, class_name=plan.class_name, units=plan.units, dead=plan.dead,
        kept=kept, params_before=plan.params_before, params_after=plan.params_after,
        macs_before=plan.macs_before, macs_after=plan.macs_after,
        reasons=dict(plan.reasons), notes=list(plan.notes),
        dropped_with=plan.dropped_with)


def _check_sample_inputs(model, inputs):
    if isinstance(inputs, dict):
        return  # matched by name by Keras itself; flattening would reorder the keys
    arrays = keras.tree.flatten(inputs)
    expected = [tuple(t.shape) for t in model.inputs]
    received = [tuple(np.shape(a)) for a in arrays]
    fits = len(arrays) == len(expected) and all(
        len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got))
        for want, got in zip(expected, received))
    if not fits:
        raise ValueError(
            f"report: expected `sample_inputs` shaped like the model inputs "
            f"{expected if len(expected) > 1 else expected[0]}. Received: "
            f"{received if len(received) != 1 else received[0]}. Pass a batch of real inputs "
            "(batch axis first, one array per model input), e.g. sample_inputs=x_test[:32]."
        )


def _max_change(model, shrunk, inputs):
    before = keras.tree.flatten(model(inputs, training=False))
    after = keras.tree.flatten(shrunk(inputs, training=False))
    diffs = [np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b)))
             for a, b in zip(before, after)]
    return float(max(diffs)) if diffs else 0.0
