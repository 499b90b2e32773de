"""A fake clock for the latency code: LiteRT really runs every ``invoke``, and each one moves
the clock by a cost the test chooses. Medians, ratios and call counts then have exact expected
values that no load on the machine can move (speed itself is the benchmarks' business)."""

import sys
import types
from dataclasses import dataclass

from ai_edge_litert import interpreter as litert_interpreter

import tf_neuronselect as ns


@dataclass(frozen=True)
class Invoke:
    """One ``invoke``: the file it ran, its batch size and thread count, and how many invokes
    of that file came before it."""

    path: str
    batch: int
    threads: int
    index: int


class LiteRTClock:
    """``cost(invoke) -> seconds``; ``invokes`` lists every ``Invoke`` in order."""

    def __init__(self, cost):
        self.now = 0.0
        self.invokes = []
        self._cost = cost

    def perf_counter(self):
        return self.now

    def install(self, monkeypatch):
        """Times every LiteRT interpreter created from now on, and makes the module that
        times the calls (the one defining ``ns.benchmark``) read this clock."""
        clock = self
        real = litert_interpreter.Interpreter

        class TimedInterpreter(real):
            def __init__(self, model_path=None, *args, num_threads=None, **kwargs):
                super().__init__(model_path, *args, num_threads=num_threads, **kwargs)
                self.timed_path, self.timed_threads = str(model_path), num_threads

            def invoke(self):
                super().invoke()
                batch = int(self.get_input_details()[0]["shape"][0])
                index = sum(i.path == self.timed_path for i in clock.invokes)
                call = Invoke(self.timed_path, batch, self.timed_threads, index)
                clock.invokes.append(call)
                clock.now += clock._cost(call)

        monkeypatch.setattr(litert_interpreter, "Interpreter", TimedInterpreter)
        timing_module = sys.modules[ns.benchmark.__module__]
        monkeypatch.setattr(timing_module, "time",
                            types.SimpleNamespace(perf_counter=self.perf_counter))
        return self
