"""The ``Report`` data object: what is dead per layer and what removing it saves."""

import dataclasses


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
        return "\n".join(lines)
