"""Unit groups: the one notion of "a unit" that penalties, gates, ``report`` and ``shrink`` share.

A *unit group* is a set of tensor channels that stand or fall together (a convolution's output
channel, its BatchNorm and activation outputs, the depthwise channel that follows, a residual
``Add``'s operands) with every parameter slice tied to them:

- ``"produces"``: the incoming kernel column and bias of every Dense/Conv-like unit whose
  output is one of the channels;
- ``"carries"``: per-channel weights on the channels' way (BatchNorm gamma and beta, a depthwise
  channel's kernel and bias, PReLU slopes, gate values, layer scales);
- ``"reads"``: the kernel rows of the layers reading the channels.

Zeroing every ``produces`` and ``carries`` slice makes the channels exactly zero (through
activations with f(0) = 0; a constant otherwise), which is what makes a group lasso on these
slices a *zero-invariant* group penalty: a group it drives to zero is removable anywhere. A
group whose channels can never go (a model output, a LayerNormalization's input) is *pinned*,
with the reason.
"""

import collections
import dataclasses

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.coupling import couple
from tf_neuronselect.analysis.coupling import input_selections
from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.utils import keras_private

PRODUCES, CARRIES, READS = "produces", "carries", "reads"
ROLES = (PRODUCES, CARRIES, READS)


@dataclasses.dataclass(frozen=True)
class ParamSlice:
    """The units ``units`` of one weight, as ``grouping`` indexes them with ``layout`` and
    ``side``; ``weight`` is the weight's path inside its layer (e.g. ``"kernel"``)."""

    layer: str
    weight: str
    layout: str
    side: str
    units: tuple
    role: str

    def __str__(self):
        units = ",".join(map(str, self.units[:4])) + ("..." if len(self.units) > 4 else "")
        return f"{self.layer}.{self.weight}[{units}]"


@dataclasses.dataclass
class UnitGroup:
    """One unit group (see the module doc).

    Attributes:
        index: position in the model's list of groups.
        channels: ``{tensor key: channel indices}`` of the channels it spans.
        slices: its ``ParamSlice``s, producers first.
        pinned: why it can never be removed ("" when it can).
        read_keys: the tensors of ``channels`` that a Dense/Conv-like layer reads.
    """

    index: int
    channels: dict
    slices: list
    pinned: str = ""
    read_keys: set = dataclasses.field(default_factory=set)
    label: str = ""

    @property
    def name(self):
        """The first producing unit (``"conv1[3]"``), else the first tensor channel; a unit
        inside a layer is named by its kind (``"attention.heads[2]"``)."""
        if self.label:
            return self.label
        producers = [s for s in self.slices if s.role == PRODUCES]
        if producers:
            return f"{producers[0].layer}[{producers[0].units[0]}]"
        key, channels = next(iter(self.channels.items()))
        return f"{key[0]}:{channels[0]}"

    @property
    def inner_kind(self):
        """For a unit inside a layer, that layer's kind of unit (``"attention.heads"``, the
        label without its index); "" for a group of graph channels."""
        return self.label.rsplit("[", 1)[0] if self.label else ""

    def layers(self, roles=ROLES):
        """Names of the layers with a slice of one of ``roles``, in order, each once."""
        return list(dict.fromkeys(s.layer for s in self.slices if s.role in roles))

    def size(self, model, roles=(PRODUCES, CARRIES)):
        """Number of parameters in its slices of ``roles``."""
        return sum(len(s.units) * grouping.group_size(
            tuple(_weight(model, s).shape), s.layout, s.side) for s in self.slices
            if s.role in roles)


class UnitGroups(list):
    """The unit groups of a model; prints as a table."""

    def __str__(self):
        header = f"{'group':<36}{'channels':>9}  {'layers':<60}status"
        lines = [header, "-" * len(header)]
        for group in self:
            width = sum(len(c) for c in group.channels.values())
            layers = ", ".join(group.layers((PRODUCES, CARRIES)))
            status = f"pinned: {group.pinned}" if group.pinned else "removable"
            lines.append(f"{group.name[:35]:<36}{width:>9}  {layers[:59]:<60}{status}")
        lines.append(f"{len(self)} groups, {sum(not g.pinned for g in self)} removable")
        return "\n".join(lines)

    def removable(self):
        """The groups that are not pinned."""
        return UnitGroups(g for g in self if not g.pinned)


def unit_groups(model, prune_inputs=False):
    """The ``UnitGroups`` of a Functional or Sequential ``model`` (nested models read
    through). With ``prune_inputs`` the model-input features are groups that may go, as in
    ``shrink(..., prune_inputs=True)``."""
    graph = model if isinstance(model, ModelGraph) else ModelGraph(model)
    selections = input_selections(graph) if prune_inputs else []
    coupling = couple(graph, selections)
    for node, key, _ in coupling.unknown:
        coupling.channels.pin(key, slice(None), f"read by '{node.operation.name}', which has "
                              "no slicer")
    coupling.channels.settle()
    ids = coupling.channels.components()
    slices = collections.defaultdict(list)
    for node in graph.nodes:
        if not node.is_input:
            _collect_slices(graph, node, ids, slices)
    groups = _assemble(coupling.channels, ids, slices)
    for node, key in coupling.readers:
        for label in np.unique(ids[key]):
            groups[int(label)].read_keys.add(key)
    for node in graph.nodes:
        groups.extend(_internal_groups(node.operation, len(groups)))
    return groups


def _internal_groups(layer, start):
    """One group per unit inside ``layer`` (attention heads): no channel of the graph."""
    slicer = get_slicer(layer)
    count = slicer.internal_count(layer) if hasattr(slicer, "internal_count") else 0
    found = []
    for unit in range(count):
        slices = [ParamSlice(layer.name, s.path, s.layout, s.side, tuple(s.units),
                             PRODUCES if s.side == grouping.INCOMING else CARRIES)
                  for s in slicer.unit_slices(layer, unit)]
        label = f"{layer.name}.{slicer.internal_label(layer, unit)}"
        found.append(UnitGroup(start + unit, {}, slices, label=label))
    return found


def _assemble(channels, ids, slices):
    members = collections.defaultdict(dict)
    for key, labels in ids.items():
        for label in np.unique(labels):
            members[int(label)][key] = np.flatnonzero(labels == label)
    groups = UnitGroups()
    for label in sorted(members):
        key, channel_list = next(iter(members[label].items()))
        reason = channels.reason(key, channel_list[0])
        ordered = sorted(slices[label], key=lambda s: ROLES.index(s.role))
        groups.append(UnitGroup(len(groups), members[label], ordered, reason))
    return groups


def _collect_slices(graph, node, ids, slices):
    layer, slicer = node.operation, get_slicer(node.operation)
    keys_in, keys_out = graph.input_keys_of(node), graph.output_keys_of(node)
    if slicer is None or len(keys_out) != 1 or keys_out[0] not in ids:
        return
    role = slicer.role(layer)
    if role == slicers.UNITS:
        _unit_layer_slices(layer, ids.get(keys_in[0]), ids[keys_out[0]], slices)
    elif role == slicers.CHANNELWISE and keys_in[0] in ids:
        _channel_weight_slices(layer, ids[keys_out[0]], slices)


def _add(slices, labels, layer, variable, layout, side, role):
    """One slice per group of the units of ``variable`` on ``side`` whose labels are given."""
    for label in np.unique(labels):
        units = tuple(int(u) for u in np.flatnonzero(labels == label))
        slices[int(label)].append(ParamSlice(layer.name, weight_path(layer, variable), layout,
                                             side, units, role))


def _unit_layer_slices(layer, labels_in, labels_out, slices):
    spec = grouping.unit_spec(layer)
    kernel = grouping.weight_of(layer, spec.kernel)
    bias = grouping.weight_of(layer, spec.bias)
    depthwise_only = spec.layout == grouping.DEPTHWISE and not spec.depthwise
    role = CARRIES if depthwise_only else PRODUCES
    _add(slices, labels_out, layer, kernel, spec.layout, grouping.INCOMING, role)
    if bias is not None:
        _add(slices, labels_out, layer, bias, spec.layout, grouping.INCOMING, role)
    if spec.recurrent:  # its gate columns produce the unit; its row is read by the others
        recurrent = grouping.weight_of(layer, spec.recurrent)
        _add(slices, labels_out, layer, recurrent, spec.layout, grouping.INCOMING, PRODUCES)
        _add(slices, labels_out, layer, recurrent, grouping.STANDARD, grouping.OUTGOING, READS)
    if labels_in is None or depthwise_only or not spec.reads:
        return
    if spec.depthwise:
        depthwise = grouping.weight_of(layer, spec.depthwise)
        _add(slices, labels_in, layer, depthwise, grouping.DEPTHWISE, grouping.OUTGOING, READS)
        multiplier = depthwise.shape[-1]
        _add(slices, np.repeat(labels_in, multiplier), layer, kernel, spec.layout,
             grouping.OUTGOING, READS)
    else:
        _add(slices, labels_in, layer, kernel, spec.layout, grouping.OUTGOING, READS)


def _channel_weight_slices(layer, labels, slices):
    """Weights of a channel-preserving layer whose last axis runs over the channels."""
    for variable in getattr(layer, "weights", []):
        if len(variable.shape) and variable.shape[-1] == len(labels):
            _add(slices, labels, layer, variable, grouping.STANDARD, grouping.INCOMING, CARRIES)


def weight_path(layer, variable):
    """The path of ``variable`` inside ``layer`` (``"kernel"``, ``"query/kernel"``)."""
    prefix = f"{layer.path}/"
    return variable.path[len(prefix):] if variable.path.startswith(prefix) else variable.name


def _weight(model_or_layers, param_slice):
    layers = model_or_layers if isinstance(model_or_layers, dict) else {
        layer.name: layer for layer in _all_layers(model_or_layers)}
    return find_weight(layers[param_slice.layer], param_slice.weight)


def find_weight(layer, path):
    """The variable of ``layer`` whose path inside the layer is ``path``."""
    for variable in layer.weights:
        if weight_path(layer, variable) == path:
            return variable
    raise KeyError(f"layer '{layer.name}' has no weight '{path}'")


def _all_layers(model):
    return keras_private.own_layers(model)
