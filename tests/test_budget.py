"""Size budgets (a controller on the penalty strengths) and per-layer strengths."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.errors import exactly
from tests.helpers.litert_clock import LiteRTClock
from tf_neuronselect import datasets
from tf_neuronselect.training import scale_strengths
from tf_neuronselect.training import strength_of
from tf_neuronselect.training import with_strength


def _mlp(widths=(128, 64), inputs_dim=64):
    inputs = keras.Input((inputs_dim,))
    x = inputs
    for i, width in enumerate(widths):
        x = keras.layers.Dense(width, activation="relu", name=f"fc{i + 1}")(x)
    return keras.Model(inputs, keras.layers.Dense(10, name="head")(x))


def _digits_budget_setup():
    """Digits flattened, and a group-lasso MLP compiled with ProximalSGD."""
    data = datasets.load("digits")
    x = data.x_train.reshape(len(data.x_train), -1)
    keras.utils.set_random_seed(0)
    model = _mlp()
    ns.add_penalty(model, ns.GroupLasso(1e-4), layers=["fc1", "fc2"])
    model.compile(ns.ProximalSGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return data, x, model


@pytest.mark.slow
def test_parameter_budget_is_met_on_digits():
    data, x, model = _digits_budget_setup()
    target = 4000  # of 17,226
    budget = ns.SizeBudget(params=target)
    history = model.fit(x, data.y_train, epochs=22, batch_size=64, verbose=0,
                        callbacks=[budget])
    size = ns.make_plan(model).params_after
    assert abs(size / target - 1) <= 0.10, budget.log
    assert budget.met
    assert history.history["budget_ratio"][-1] == pytest.approx(size / target)
    accuracy = model.evaluate(data.x_test.reshape(len(data.x_test), -1), data.y_test,
                              verbose=0)[1]
    assert accuracy > 0.85


def test_controller_pushes_holds_and_backs_off():
    budget = ns.SizeBudget(params=1000, tolerance=0.1, max_factor=2.0)
    assert budget.factor(4000) == 2.0  # far and not shrinking: push
    budget._previous = 7000
    assert budget.factor(4000) == 1.0  # shrinking at a pace that arrives soon: hold
    budget._previous = 17000
    assert budget.factor(4000) == 0.5  # this pace overshoots within an update: back off
    budget._previous = 1030
    assert budget.factor(1030) == 1.0  # on target and stable
    assert budget.factor(800) == 0.5  # too small


def test_strength_scaling_syncs_gate_config():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(6, kernel_regularizer=ns.GroupLasso(0.01), name="d")(inputs)
    x = ns.Gate(l1=0.02, name="g")(x)
    model = keras.Model(inputs, x)
    assert scale_strengths(model, 3.0) == 2
    assert model.get_layer("d").kernel.regularizer.strength == pytest.approx(0.03)
    assert model.get_layer("g").l1 == pytest.approx(0.06)  # a rebuilt Gate keeps it
    assert model.get_layer("g").get_config()["l1"] == pytest.approx(0.06)


class _CountTraces(keras.layers.Layer):
    """Identity whose Python body runs once per trace of a step that calls it, not per step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.traces = 0

    def call(self, x):
        self.traces += 1
        return x


def _traced_fit(rng, budget):
    """Three epochs at learning rate 0 (the weights stay put): the traces that started in
    each epoch, the loss of each epoch, and the group lasso sum of the penalized kernel."""
    inputs = keras.Input((4,))
    counter = _CountTraces()
    x = keras.layers.Dense(6, kernel_regularizer=ns.GroupLasso(0.01), name="d")(counter(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    if budget is None:  # a budget already on target: it never rescales
        budget = ns.SizeBudget(params=model.count_params())
    starts = []
    seen = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: starts.append(
        counter.traces))
    x_data = rng.normal(size=(32, 4)).astype("float32")
    history = model.fit(x_data, rng.normal(size=(32, 1)), epochs=3, batch_size=8, verbose=0,
                        shuffle=False, callbacks=[seen, budget])
    traces = np.diff(starts + [counter.traces]).tolist()
    kernel = model.get_layer("d").kernel.numpy()
    group_lasso = np.sqrt(4) * np.linalg.norm(kernel, axis=0).sum()
    return traces, history.history["loss"], group_lasso


@pytest.mark.filterwarnings("ignore:SizeBudget. the model ended")
def test_budget_update_retraces_the_train_step_with_the_new_strengths(rng):
    # A target far below the model: every epoch ends with a push (x3) and a retrace.
    traces, loss, group_lasso = _traced_fit(rng, ns.SizeBudget(params=1, max_factor=3.0))
    assert traces[0] >= 1 and traces[1] >= 1 and traces[2] >= 1, traces
    # The weights do not move, so the loss only changes by the penalty's strength: 0.01, then
    # 0.03, then 0.09 times the group lasso sum. A step that was not traced again would keep
    # 0.01 baked in.
    assert loss[1] - loss[0] == pytest.approx(0.02 * group_lasso, rel=1e-4)
    assert loss[2] - loss[1] == pytest.approx(0.06 * group_lasso, rel=1e-4)
    # Control: a budget that holds its strengths traces once and keeps its loss.
    held_traces, held_loss, _ = _traced_fit(np.random.default_rng(0), None)
    assert held_traces[0] >= 1 and held_traces[1:] == [0, 0], held_traces
    assert held_loss[2] == pytest.approx(held_loss[0], rel=1e-6)


def test_budget_rejects_bad_targets_and_models_without_penalties(rng):
    for kwargs, received in (({}, "params=None, macs=None"), ({"params": 10, "macs": 10},
                                                             "params=10, macs=10")):
        with pytest.raises(ValueError, match=exactly(
                "SizeBudget: expected exactly one target, `params` or `macs`. Received: "
                f"{received}. How to fix: pass e.g. SizeBudget(params=50_000).")):
            ns.SizeBudget(**kwargs)
    with pytest.raises(ValueError, match=exactly(
            "SizeBudget: expected `macs` to be a positive int. Received: macs=-3. How to fix: "
            "pass e.g. macs=50000.")):
        ns.SizeBudget(macs=-3)
    model = _mlp((8,), 4)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=exactly(
            "SizeBudget: expected penalties to adapt. Received: a model with no GroupLasso / "
            "SparseGroupLasso / DropNeuron / L1 penalty, Gate or TriStateReLU. How to fix: attach "
            "one with tf_neuronselect.add_penalty(model, GroupLasso(1e-4)) or use Gate layers.")):
        model.fit(rng.normal(size=(8, 4)), rng.normal(size=(8, 10)), epochs=1, verbose=0,
                  callbacks=[ns.SizeBudget(params=10)])


def test_layer_strengths_params_rule():
    model = _mlp((30, 20), 10)
    strengths = ns.layer_strengths(model, 0.01, rule="params", layers=["fc1", "fc2"])
    params = {"fc1": 10 * 30 + 30, "fc2": 30 * 20 + 20}
    total = sum(params.values())
    for name, count in params.items():
        assert strengths[name] == pytest.approx(0.01 * 2 * count / total)
    assert np.mean(list(strengths.values())) == pytest.approx(0.01)


def test_layer_strengths_macs_depth_and_uniform_rules():
    model = _mlp((30, 20), 10)
    macs = ns.layer_strengths(model, 1.0, rule="macs")
    counts = np.array([10 * 30, 30 * 20, 20 * 10], float)
    np.testing.assert_allclose(list(macs.values()), 3 * counts / counts.sum())
    depth = ns.layer_strengths(model, 1.0, rule="depth", first_layers=1)
    small = 3 / (1 + 2 * 2.5)  # the paper's 0.102 : 0.255
    np.testing.assert_allclose(list(depth.values()), [small, 2.5 * small, 2.5 * small])
    assert ns.layer_strengths(model, 0.5, rule="uniform") == {
        "fc1": 0.5, "fc2": 0.5, "head": 0.5}
    with pytest.raises(ValueError, match=exactly(
            "layer_strengths: expected `rule` to be one of 'params', 'macs', 'depth', 'uniform'. "
            "Received: rule='size'. Pass one of the listed values.")):
        ns.layer_strengths(model, 1.0, rule="size")


def test_apply_layer_strengths_puts_each_strength_on_its_layer():
    model = _mlp((30, 20), 10)
    strengths = {"fc1": 0.001, "fc2": 0.004}
    names = ns.apply_layer_strengths(model, ns.SparseGroupLasso(0.5, alpha=0.3), strengths)
    assert names == ["fc1", "fc2"]
    for name, value in strengths.items():
        penalty = model.get_layer(name).kernel.regularizer
        assert isinstance(penalty, ns.SparseGroupLasso)
        assert penalty.strength == pytest.approx(value) and penalty.alpha == 0.3
    drop = with_strength(ns.DropNeuron(li=0.2, lo=0.1, l1=0.02), 0.4)
    assert (drop.li, drop.lo, drop.l1) == pytest.approx((0.4, 0.2, 0.04))
    assert strength_of(drop) == pytest.approx(0.4)
    with pytest.raises(TypeError, match=exactly(
            "apply_layer_strengths: expected `strengths` to be a dict {layer name: strength} such "
            "as layer_strengths(...) returns. Received: list.")):
        ns.apply_layer_strengths(model, ns.GroupLasso(), [0.1])


def test_layer_strengths_skip_grouped_convolutions():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(4, 3, groups=2, name="grouped")(inputs)
    x = keras.layers.Conv2D(6, 3, name="plain")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(keras.layers.Flatten()(x)))
    assert set(ns.layer_strengths(model, 1e-3)) == {"plain", "head"}


@pytest.mark.slow
def test_multiply_add_budget_is_met_on_digits():
    data, x, model = _digits_budget_setup()
    before = ns.make_plan(model).macs_before
    target = before // 4
    budget = ns.SizeBudget(macs=target)
    model.fit(x, data.y_train, epochs=22, batch_size=64, verbose=0, callbacks=[budget])
    macs = ns.make_plan(model).macs_after
    assert abs(macs / target - 1) <= 0.10, budget.log
    assert budget.met


@pytest.mark.slow
def test_step_updates_land_an_aggressive_budget():
    data, x, model = _digits_budget_setup()
    target = 1000  # 17x smaller than 17,226
    budget = ns.SizeBudget(params=target, every_n_steps=5)
    model.fit(x, data.y_train, epochs=22, batch_size=64, verbose=0, callbacks=[budget])
    steps = [step for _, step, _, _ in budget.log]
    assert steps == list(range(5, 22 * 23 + 1, 5))  # 23 batches per epoch, counted on
    size = ns.make_plan(model).params_after
    assert abs(size / target - 1) <= 0.10, budget.log[-5:]


@pytest.mark.parametrize("steps_per_execution, expected_steps", [
    (1, [4, 8, 12]), (2, [4, 8, 12]), (3, [6, 9, 12])])
def test_step_updates_count_real_steps_under_steps_per_execution(steps_per_execution,
                                                                  expected_steps):
    # Keras runs the batch hooks once per execution, so the controller can only act at an
    # execution boundary: the first one at or after every multiple of every_n_steps.
    keras.utils.set_random_seed(0)
    model = _mlp(widths=(16,), inputs_dim=8)
    ns.add_penalty(model, ns.GroupLasso(1e-4), layers=["fc1"])
    model.compile(ns.ProximalSGD(0.01), "sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    budget = ns.SizeBudget(params=10, every_n_steps=4, max_factor=2.0)
    x = np.random.default_rng(0).normal(size=(96, 8)).astype("float32")
    with pytest.warns(UserWarning, match="SizeBudget: the model ended at"):  # 1 epoch: unmet
        model.fit(x, np.zeros(96, "int32"), epochs=1, batch_size=8, verbose=0,
                  callbacks=[budget])
    assert [step for _, step, _, _ in budget.log] == expected_steps
    gaps = np.diff([0] + expected_steps)
    # Each update scales by max_factor ** (steps since the last update / steps per epoch).
    assert budget.scale == pytest.approx(2.0 ** (gaps.sum() / 12))


def test_step_updates_change_strengths_at_the_per_epoch_rate():
    budget = ns.SizeBudget(params=10, every_n_steps=5, max_factor=2.0)
    budget.set_params({"steps": 20})
    assert budget._update_fraction() == 0.25
    budget._previous = 4000
    # Per epoch, progress log(4000/3000) * 4 = 1.15 >= distance log(3000/10) / 3 = 1.9? no:
    # push, by 2 ** 0.25 per update.
    assert budget.factor(3000) == 2.0
    assert ns.SizeBudget(params=10).factor(3000) == 2.0
    with pytest.raises(ValueError, match=r"expected `every_n_steps` to be None or a positive "
                                         r"int\. Received: every_n_steps=0"):
        ns.SizeBudget(params=10, every_n_steps=0)


def test_tri_state_complexity_is_a_controlled_strength():
    inputs = keras.Input((8,))
    x = keras.layers.Dense(6, name="d")(inputs)
    x = ns.TriStateReLU(binarize=0.1, complexity=0.0, name="t")(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    layer = model.get_layer("t")
    budget = ns.SizeBudget(params=10, initial_strength=1e-3)
    budget.set_model(model)
    budget.on_train_begin()  # no penalty, but a TriStateReLU: accepted, started at 1e-3
    assert layer.complexity == pytest.approx(1e-3)
    assert scale_strengths(model, 4.0) == 1
    assert layer.complexity == pytest.approx(4e-3)
    assert layer.binarize == pytest.approx(0.1)  # shapes the gates, not the size: untouched
    assert layer.get_config()["complexity"] == pytest.approx(4e-3)


def _tiny_gate_model():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(32, activation="relu", name="hidden")(inputs)
    x = ns.Gate(l1=1e-3, name="gate")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def _close_gates(model, count):
    theta = model.get_layer("gate").theta
    theta.assign(np.where(np.arange(32) < count, 0.0, 1.0).astype("float32"))


class _ParameterTimer:
    """A timer (see ``LatencyBudget``) that takes 1 microsecond per parameter of the model."""

    def __init__(self, batch_size, num_threads, rounds, iterations):
        self.timed, self.reference = [], None

    def set_reference(self, model):
        self.reference = model
        self.timed.append(model)

    def milliseconds(self, model):
        self.timed.append(model)
        return 0.001 * model.count_params()

    def ratio(self, model):
        self.timed.append(model)
        return model.count_params() / self.reference.count_params()

    def close(self):
        self.reference = None


def test_latency_budget_times_the_shrunk_model():
    model = _tiny_gate_model()
    _close_gates(model, 20)
    budget = ns.LatencyBudget(milliseconds=0.2, timer=_ParameterTimer)
    budget.set_model(model)
    # What is timed is shrink(model): 12 units left, no Gate (stock layers only).
    assert budget.size() == pytest.approx(0.001 * (6 * 12 + 12 + 12 * 3 + 3))
    assert not any(isinstance(layer, ns.Gate) for layer in budget.timer.timed[-1].layers)


def test_latency_fraction_is_timed_against_the_starting_model():
    model = _tiny_gate_model()
    budget = ns.LatencyBudget(fraction=0.5, timer=_ParameterTimer)
    budget.set_model(model)
    budget.on_train_begin()  # times the starting model once: the reference
    timed = budget.timer.timed
    assert len(timed) == 1 and timed[0].count_params() == 6 * 32 + 32 + 32 * 3 + 3
    _close_gates(model, 20)
    assert budget.size() == pytest.approx((6 * 12 + 12 + 12 * 3 + 3) / (6 * 32 + 32 + 32 * 3 + 3))
    assert budget.key == "latency_fraction" and budget.target == 0.5


def test_latency_of_an_unchanged_architecture_is_pooled():
    measurements = iter([1.0, 3.0, 2.0, 9.0])

    class Noisy(_ParameterTimer):
        def milliseconds(self, model):
            return next(measurements)

    model = _tiny_gate_model()
    budget = ns.LatencyBudget(milliseconds=1.0, timer=Noisy)
    budget.set_model(model)
    assert [budget.size(), budget.size(), budget.size()] == [1.0, 2.0, 2.0]  # medians so far
    _close_gates(model, 20)  # a new architecture starts its own samples
    assert budget.size() == 9.0


def test_latency_is_the_median_milliseconds_per_litert_invoke(monkeypatch):
    # Each invoke really runs in LiteRT and costs, on the fake clock, 1 ms in the first timed
    # round, 4 ms in the second and 2 ms in the third: the median per call is 2 ms (the mean
    # would be 2.33, the minimum 1, a total per round 10).
    costs = {0: 1e-3, 1: 4e-3, 2: 2e-3}
    clock = LiteRTClock(lambda call: 0.0 if call.index < 2 else costs[(call.index - 2) // 5])
    clock.install(monkeypatch)
    milliseconds = ns.tflite_latency_ms(_tiny_gate_model(), batch_size=3, num_threads=2,
                                        rounds=3, iterations=5, warmup=2)
    assert milliseconds == pytest.approx(2.0)
    assert len(clock.invokes) == 2 + 3 * 5
    assert {(call.batch, call.threads) for call in clock.invokes} == {(3, 2)}


def test_latency_fraction_is_the_current_over_the_reference_time(monkeypatch):
    # The reference file (the model when training started) costs 2 ms per invoke, the current
    # one 0.5 ms: the size is 0.25, whatever the two architectures are.
    clock = LiteRTClock(lambda call: 2e-3 if "reference" in call.path else 5e-4)
    clock.install(monkeypatch)
    model = _tiny_gate_model()
    model.compile("sgd", "mse")
    budget = ns.LatencyBudget(fraction=0.5, rounds=2, iterations=5)
    budget.set_model(model)
    budget.on_train_begin()
    assert budget.size() == pytest.approx(0.25)
    paths = [call.path for call in clock.invokes]
    # Both files, interleaved: 10 warm-up calls, then 2 rounds of 5 timed calls each.
    assert len(set(paths)) == 2 and len(paths) == 2 * (10 + 2 * 5)
    with pytest.warns(UserWarning, match=r"LatencyBudget: the model ended at "
                                         r"latency_fraction=0\.25, target 0\.5 "):
        budget.on_train_end()
    assert budget.timer._reference is None  # the reference file is cleaned up


@pytest.mark.parametrize("kwargs, message", [
    ({"milliseconds": 0}, "expected `milliseconds` to be a positive number. Received: "
                          "milliseconds=0"),
    ({}, "expected exactly one target, `milliseconds` or `fraction`. Received: "
         "milliseconds=None, fraction=None"),
    ({"milliseconds": 1.0, "fraction": 0.5}, "expected exactly one target"),
    ({"milliseconds": "1ms"}, "Received: milliseconds='1ms'"),
    ({"milliseconds": 1.0, "batch_size": 0}, "expected `batch_size` to be a positive int. "
                                             "Received: batch_size=0"),
])
def test_latency_budget_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        ns.LatencyBudget(**kwargs)
