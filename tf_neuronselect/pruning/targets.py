"""The target of ``prune``: a share of the units, a size (parameters or multiply-adds) or the
widths of named layers, checked with the library's wording."""

import dataclasses
import numbers

from tf_neuronselect.utils.validation import validate_positive_int

OWNER = "prune"


@dataclasses.dataclass(frozen=True)
class Target:
    """``kind``: "fraction", "params", "macs" or "widths"; ``value``: the share of units to
    remove, the size to reach (an absolute count), or ``{layer: width}``."""

    kind: str
    value: object

    def at_step(self, step, steps, start):
        """The target of step ``step`` (1-based) of ``steps``: sizes shrink geometrically from
        ``start`` (the model's size), shares grow linearly; widths only at the last step."""
        if self.kind in ("params", "macs"):
            return Target(self.kind, start * (self.value / start) ** (step / steps))
        if self.kind == "fraction":
            return Target(self.kind, 1 - (1 - self.value) ** (step / steps))
        return self


def parse_target(fraction, params, macs, widths, sizes):
    """The ``Target`` of ``prune``'s keyword arguments; ``sizes`` is ``{"params": ..., "macs":
    ...}`` of the model, to turn a float share of the size into a count."""
    given = {k: v for k, v in (("fraction", fraction), ("params", params), ("macs", macs),
                               ("widths", widths)) if v is not None}
    if len(given) != 1:
        raise ValueError(
            f"{OWNER}: expected exactly one target: fraction=, params=, macs= or widths=. "
            f"Received: {', '.join(sorted(given)) or 'none'}. How to fix: pass e.g. "
            "fraction=0.5 (remove half of the units) or params=0.1 (keep a tenth of the "
            "parameters)."
        )
    kind, value = next(iter(given.items()))
    if kind == "fraction":
        return Target(kind, _share(value, "fraction", "fraction=0.5"))
    if kind == "widths":
        return Target(kind, value)
    return Target(kind, _size(value, kind, sizes[kind]))


def _share(value, name, example):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(
            f"{OWNER}: expected `{name}` to be a float in (0, 1). Received: {name}={value!r}. "
            f"How to fix: pass e.g. {example}."
        )
    return float(value)


def _size(value, name, current):
    """A float in (0, 1) is a share of the current size; an int is the size itself."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return validate_positive_int(value, name, OWNER, example=current // 10)
    return _share(value, name, f"{name}=0.1 or {name}={current // 10}") * current


def check_widths(widths, sizes):
    """Raises for a width of an unknown layer or wider than the layer."""
    if not isinstance(widths, dict):
        raise TypeError(f"{OWNER}: expected `widths` to be a dict {{layer name: units}}. "
                        f"Received: {type(widths).__name__}.")
    for name, width in widths.items():
        if name not in sizes:
            raise ValueError(
                f"{OWNER}: expected `widths` to name layers whose units can be pruned. "
                f"Received: {name!r}. How to fix: use names from {sorted(sizes)}."
            )
        validate_positive_int(width, f"widths[{name!r}]", OWNER)
        if width > sizes[name]:
            raise ValueError(
                f"{OWNER}: expected widths[{name!r}] <= {sizes[name]} (the layer's units). "
                f"Received: {width}. How to fix: ask for at most {sizes[name]} units."
            )
