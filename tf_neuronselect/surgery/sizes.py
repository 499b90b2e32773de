"""Size rules applied after the coupling settles: never empty a layer, optional rounding of
widths."""

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.registry import get_slicer


def enforce_sizes(graph, channels, statuses, round_to):
    """Keeps the strongest removed units of every Dense/Conv-like layer that would be empty
    (or whose width is not a multiple of ``round_to``). Returns layer name -> notes."""
    notes = {}
    for _ in range(len(graph.nodes) + 1):  # every pass keeps at least one more channel
        changed = False
        for node in graph.nodes:
            if get_slicer(node.operation) is not None and not node.is_input \
                    and get_slicer(node.operation).role(node.operation) == slicers.UNITS:
                changed |= _grow(graph, node, channels, statuses, round_to, notes)
        if not changed:
            break
        channels.settle()
    _check_nothing_empty(graph, channels)
    return notes


def _grow(graph, node, channels, statuses, round_to, notes):
    layer = node.operation
    key = graph.output_keys_of(node)[0]
    removable = channels.removable[key]
    kept, total = int((~removable).sum()), len(removable)
    depthwise = grouping.unit_spec(layer).layout == grouping.DEPTHWISE
    wanted = max(kept, 1)
    if round_to and not depthwise:
        wanted = min(total, -(-wanted // round_to) * round_to)
    if wanted <= kept:
        return False
    candidates = np.flatnonzero(removable)
    strongest = candidates[np.argsort(-statuses[layer.name].strength[candidates],
                                      kind="stable")][: wanted - kept]
    reason = (f"kept (strongest) to round the width to a multiple of {round_to}" if kept
              else "kept (strongest) so the layer is not empty")
    channels.pin(key, strongest, reason)
    notes.setdefault(layer.name, []).append(f"{reason}: units {strongest.tolist()}")
    return True


def _check_nothing_empty(graph, channels):
    for key, removable in channels.removable.items():
        if len(removable) and removable.all():
            raise RuntimeError(
                f"shrink would empty tensor {key}; this is a bug in tf_neuronselect's "
                "planner, please report it with the model."
            )
