"""Which channel of which tensor can go: per-channel flags tied together by coupling links.

Every tensor channel starts removable. A *pin* makes a channel stay (with a reason); a *link*
says two channels stand or fall together (a pass-through layer's input and output channel, the
operands of an Add, a Flatten's channel and its positions). ``settle`` spreads "stays" along
the links until nothing changes, so a coupled group goes only if every member may go.
"""

import numpy as np


class Channels:
    """Removable flags and keep-reasons for every channel of every tensor."""

    def __init__(self):
        self.removable = {}
        self.why = {}
        self.reasons = [""]
        self.links = []

    def add(self, key, size):
        """Registers tensor ``key`` with ``size`` channels, all removable."""
        self.removable[key] = np.ones(size, dtype=bool)
        self.why[key] = np.zeros(size, dtype=np.int32)

    def pin(self, key, index, reason):
        """Channels ``index`` (indices or bool mask) of ``key`` stay, because of ``reason``."""
        selected = np.zeros(len(self.removable[key]), dtype=bool)
        selected[index] = True
        selected &= self.removable[key]
        self.removable[key][selected] = False
        self.why[key][selected] = self._code(reason)

    def link(self, key_a, index_a, key_b, index_b):
        """Channel ``index_a[i]`` of ``key_a`` and ``index_b[i]`` of ``key_b`` go together."""
        self.links.append((key_a, np.asarray(index_a), key_b, np.asarray(index_b)))

    def settle(self):
        """Spreads every pin along the links (forward then backward sweeps) until stable."""
        changed = True
        while changed:
            changed = False
            for a, index_a, b, index_b in self.links:
                changed |= self._flow(a, index_a, b, index_b)
            for a, index_a, b, index_b in reversed(self.links):
                changed |= self._flow(b, index_b, a, index_a)

    def keep(self, key):
        """Indices of the channels of ``key`` that stay."""
        return np.flatnonzero(~self.removable[key])

    def reason(self, key, channel):
        """Why channel ``channel`` of ``key`` stays ("" if it goes)."""
        return self.reasons[self.why[key][channel]]

    def _flow(self, source, source_index, target, target_index):
        stays = ~self.removable[source][source_index] & self.removable[target][target_index]
        if not stays.any():
            return False
        hit = target_index[stays]
        self.removable[target][hit] = False
        self.why[target][hit] = self.why[source][source_index[stays]]
        return True

    def _code(self, reason):
        if reason not in self.reasons:
            self.reasons.append(reason)
        return self.reasons.index(reason)

    def components(self):
        """``{key: array}``: for every channel of every tensor, the id of the set of channels
        linked to it (directly or through others); ids are 0, 1, ... in tensor order."""
        offsets, total = {}, 0
        for key, flags in self.removable.items():
            offsets[key], total = total, total + len(flags)
        labels = np.arange(total)
        pairs = [(offsets[a] + index_a, offsets[b] + index_b)
                 for a, index_a, b, index_b in self.links]
        changed = True
        while changed:  # label propagation: every linked pair takes the smaller label
            changed = False
            for left, right in pairs:
                low = np.minimum(labels[left], labels[right])
                if np.any(labels[left] != low) or np.any(labels[right] != low):
                    np.minimum.at(labels, left, low)
                    np.minimum.at(labels, right, low)
                    changed = True
            labels = labels[labels]
        _, ids = np.unique(labels, return_inverse=True)
        return {key: ids[start:start + len(self.removable[key])]
                for key, start in offsets.items()}
