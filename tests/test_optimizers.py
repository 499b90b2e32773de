"""ProximalSGD / ProximalAdam: exact prox steps, exact zeros on real tasks, save/load, dtypes."""

import warnings

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.references import numpy_sparse_group_prox
from tests.helpers.resume import RESUMED_TRAINING_TOLERANCE
from tests.helpers.resume import assert_backup_resumes_exactly


def _mlp(penalty=None, hidden=32, inputs=20, gate=None, outputs=2):
    x_in = keras.Input((inputs,))
    x = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=penalty, name="hidden")(x_in)
    if gate is not None:
        x = gate(x)
    return keras.Model(x_in, keras.layers.Dense(outputs, name="head")(x))


def _task(rng, n=512, inputs=20):
    # Only the first 3 features matter, so most hidden units are superfluous.
    x = rng.normal(size=(n, inputs)).astype("float32")
    y = ((x[:, 0] + x[:, 1] - x[:, 2]) > 0).astype("int32")
    return x, y


def _zero_columns(kernel):
    return np.all(kernel == 0.0, axis=0)


def test_one_step_equals_sgd_step_then_closed_form_prox(rng):
    model = _mlp(ns.SparseGroupLasso(0.3, alpha=0.5))
    x, y = _task(rng, n=16)
    kernel0, bias0 = (w.numpy().copy() for w in model.get_layer("hidden").weights)
    reference = _mlp(None)
    reference.set_weights(model.get_weights())
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(ns.ProximalSGD(0.5), loss)
    reference.compile(keras.optimizers.SGD(0.5), loss)
    model.train_on_batch(x, y)
    reference.train_on_batch(x, y)
    stepped = np.concatenate([w.numpy() for w in reference.get_layer("hidden").weights[:1]]
                             + [reference.get_layer("hidden").bias.numpy()[None]], axis=0)
    expected = numpy_sparse_group_prox(stepped.astype(np.float64), 0.5, 0.5, 0.3, 20)
    hidden = model.get_layer("hidden")
    np.testing.assert_allclose(hidden.kernel.numpy(), expected[:-1], atol=1e-5)
    np.testing.assert_allclose(hidden.bias.numpy(), expected[-1], atol=1e-5)
    assert not np.allclose(hidden.kernel.numpy(), kernel0)
    assert not np.allclose(hidden.bias.numpy(), bias0)


@pytest.mark.parametrize("warmup, factor", [(4, 0.25), (1, 1.0)])
def test_prox_warmup_scales_the_first_steps_prox_linearly(rng, warmup, factor):
    model = _mlp(ns.SparseGroupLasso(0.3, alpha=0.5))
    x, y = _task(rng, n=16)
    reference = _mlp(None)
    reference.set_weights(model.get_weights())
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(ns.ProximalSGD(0.5, prox_warmup_steps=warmup), loss)
    reference.compile(keras.optimizers.SGD(0.5), loss)
    model.train_on_batch(x, y)
    reference.train_on_batch(x, y)
    hidden = reference.get_layer("hidden")
    stepped = np.concatenate([hidden.kernel.numpy(), hidden.bias.numpy()[None]], axis=0)
    # Step 1 of a ramp over `warmup` steps: the prox of step lr * 1 / warmup.
    expected = numpy_sparse_group_prox(stepped.astype(np.float64), 0.5 * factor, 0.5, 0.3, 20)
    np.testing.assert_allclose(model.get_layer("hidden").kernel.numpy(), expected[:-1],
                               atol=1e-5)


def test_prox_warmup_steps_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="ProximalSGD: expected `prox_warmup_steps`"):
        ns.ProximalSGD(0.1, prox_warmup_steps=-1)


def test_penalty_is_not_counted_twice_under_a_proximal_optimizer(rng):
    penalty = ns.GroupLasso(0.5)
    model = _mlp(penalty)
    model.compile(ns.ProximalSGD(0.1), "sparse_categorical_crossentropy")
    x, y = _task(rng, n=64)
    model.fit(x, y, epochs=1, verbose=0)
    assert penalty.handled_proximally
    assert float(sum(model.losses)) == 0.0


def test_plain_optimizer_uses_the_penalty_as_a_subgradient(rng):
    penalty = ns.GroupLasso(0.5)
    model = _mlp(penalty)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.fit(*_task(rng, n=64), epochs=1, verbose=0)
    assert not penalty.handled_proximally
    assert float(sum(model.losses)) > 0.0


@pytest.mark.slow
@pytest.mark.parametrize("optimizer, strength", [
    (lambda: ns.ProximalSGD(0.05, momentum=0.9), 0.05),
    (lambda: ns.ProximalSGD(0.05, momentum=0.9, nesterov=True), 0.05),
    # Adam's prox step is its base rate (0.01), so it needs a larger strength for the same pull.
    (lambda: ns.ProximalAdam(0.01), 0.45),
])
def test_group_lasso_mlp_ends_with_exact_zero_units_and_keeps_accuracy(rng, optimizer, strength):
    x, y = _task(rng)
    model = _mlp(ns.GroupLasso(strength))
    model.compile(optimizer(), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    hidden = model.get_layer("hidden")
    dead = _zero_columns(hidden.kernel.numpy())
    assert dead.mean() >= 0.5, f"only {dead.sum()} of 32 units reached exact zero"
    assert np.all(hidden.bias.numpy()[dead] == 0.0)  # the bias is part of each group
    x_test, y_test = _task(np.random.default_rng(1))
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.95


@pytest.mark.slow
def test_gate_l1_prox_kills_gates_exactly_and_keeps_accuracy(rng):
    x, y = _task(rng)
    model = _mlp(None, gate=ns.Gate(l1=0.15, name="gate"))
    model.compile(ns.ProximalSGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    theta = model.get_layer("gate").theta.numpy()
    assert (theta == 0.0).mean() >= 0.5, theta
    assert np.all(theta >= 0.0)  # the soft threshold stops at zero instead of crossing it
    x_test, y_test = _task(np.random.default_rng(1))
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.95


def _linear_regression_net(penalty):
    inputs = keras.Input((40,))
    hidden = keras.layers.Dense(8, use_bias=False, kernel_regularizer=penalty, name="first")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(hidden))


@pytest.mark.slow
@pytest.mark.parametrize("penalty", [
    lambda: ns.DropNeuron(lo=0.2),
    lambda: ns.GroupLasso(0.2, groups="outgoing", scale_by_group_size=False),
])
def test_sparse_linear_regression_recovers_the_support(rng, penalty):
    # Seed 002's experiment: y = X beta with 5 of 40 coefficients non-zero.
    support = np.array([3, 11, 17, 25, 38])
    beta = np.zeros(40, "float32")
    beta[support] = rng.choice([-1, 1], size=5) * rng.uniform(1, 2, size=5)
    x = rng.normal(size=(1024, 40)).astype("float32")
    y = x @ beta + 0.01 * rng.normal(size=1024).astype("float32")
    found = {}
    for name, reg, optimizer in [("lo", penalty(), ns.ProximalSGD(0.02, momentum=0.9)),
                                 ("none", None, keras.optimizers.SGD(0.02, momentum=0.9))]:
        keras.utils.set_random_seed(0)
        model = _linear_regression_net(reg)
        model.compile(optimizer, "mse")
        model.fit(x, y, epochs=40, batch_size=64, verbose=0)
        rows = np.linalg.norm(model.get_layer("first").kernel.numpy(), axis=1)
        found[name] = set(np.flatnonzero(rows > 0).tolist())
        coefficients = (model.get_layer("first").kernel.numpy() @ model.layers[-1].kernel.numpy())
        np.testing.assert_allclose(coefficients[:, 0][support], beta[support], atol=0.05)
    assert found["lo"] == set(support.tolist())
    assert found["none"] != set(support.tolist())


def test_unknown_regularizer_falls_back_and_warns_once(rng):
    model = _mlp(keras.regularizers.L1(0.01))
    model.compile(ns.ProximalSGD(0.1), "sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(*_task(rng, n=64), epochs=2, verbose=0)
    messages = [str(w.message) for w in caught if "no proximal step is known" in str(w.message)]
    assert len(messages) == 1
    assert "hidden/kernel (L1)" in messages[0]


def test_l2_regularizer_is_smooth_and_needs_no_warning(rng):
    model = _mlp(keras.regularizers.L2(0.01))
    model.compile(ns.ProximalSGD(0.1), "sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(*_task(rng, n=64), epochs=1, verbose=0)
    assert not [w for w in caught if "no proximal step" in str(w.message)]


@pytest.mark.slow
@pytest.mark.parametrize("make_optimizer", [
    lambda: ns.ProximalSGD(0.05, momentum=0.9), lambda: ns.ProximalAdam(0.01)])
def test_save_and_resume_equals_uninterrupted_training(tmp_path, rng, make_optimizer):
    x, y = _task(rng, n=128)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = _mlp(ns.SparseGroupLasso(0.01), gate=ns.Gate(l1=0.01))
    model.compile(make_optimizer(), loss)
    model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.optimizer) is type(model.optimizer)
    assert int(restored.optimizer.iterations.numpy()) == 8
    restored.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_allclose(a, b, **RESUMED_TRAINING_TOLERANCE)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, arguments", [
    (ns.ProximalSGD, {"learning_rate": 0.03, "momentum": 0.8, "nesterov": True,
                      "weight_decay": 1e-4, "clipnorm": 2.0, "prox_warmup_steps": 7,
                      "name": "prox_sgd"}),
    (ns.ProximalAdam, {"learning_rate": 0.03, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6,
                       "amsgrad": True, "adaptive_prox": True, "prox_warmup_steps": 3,
                       "name": "prox_adam"}),
], ids=["ProximalSGD", "ProximalAdam"])
def test_optimizer_config_round_trip_keeps_the_constructor_arguments(cls, arguments):
    optimizer = cls(**arguments)
    serialized = keras.optimizers.serialize(optimizer)
    assert serialized["registered_name"] == f"tf_neuronselect>{cls.__name__}"
    copies = {"original": optimizer, "from_config": cls.from_config(optimizer.get_config()),
              "deserialize": keras.optimizers.deserialize(serialized)}
    for how, copy in copies.items():
        assert type(copy) is cls, how
        config = copy.get_config()
        got = {key: config.get(key, "missing") for key in arguments}
        assert got == pytest.approx(arguments), how


@pytest.mark.slow
def test_mixed_float16_training_still_gives_exact_zeros(rng):
    keras.mixed_precision.set_global_policy("mixed_float16")
    x, y = _task(rng)
    model = _mlp(ns.GroupLasso(0.05), gate=ns.Gate(l1=0.15, name="gate"))
    model.compile(ns.ProximalSGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    model.fit(x, y, epochs=20, batch_size=64, verbose=0)
    assert model.get_layer("hidden").kernel.dtype == "float32"
    assert _zero_columns(model.get_layer("hidden").kernel.numpy()).mean() >= 0.3
    assert model.evaluate(x, y, verbose=0)[1] >= 0.9


def test_learning_rate_schedule_sets_the_prox_step(rng):
    # With a schedule the threshold must follow the current rate, not the initial one.
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1], [0.5, 0.0])
    model = _mlp(ns.L1(1.0))
    model.compile(ns.ProximalSGD(schedule), "sparse_categorical_crossentropy")
    x, y = _task(rng, n=8)
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    before = model.get_layer("hidden").kernel.numpy().copy()
    model.train_on_batch(x, y)  # learning rate 0: neither gradient step nor shrinkage
    np.testing.assert_array_equal(model.get_layer("hidden").kernel.numpy(), before)


@pytest.mark.slow
def test_backup_and_restore_resumes_gates_penalties_and_optimizer_state(tmp_path, rng):
    x, y = _task(rng, n=128)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def fresh(seed=3):
        keras.utils.set_random_seed(seed)
        model = _mlp(ns.GroupLasso(0.05), gate=ns.Gate(l1=0.1))
        model.compile(ns.ProximalSGD(0.05, momentum=0.9), loss)
        return model

    assert_backup_resumes_exactly(fresh, x, y, tmp_path / "backup", steps_per_epoch=4)


@pytest.mark.slow
@pytest.mark.parametrize("make_optimizer", [
    lambda: ns.ProximalSGD(0.05, momentum=0.9), lambda: ns.ProximalAdam(0.01)])
def test_resume_tolerance_catches_a_lost_optimizer_state(rng, make_optimizer):
    # Guards RESUMED_TRAINING_TOLERANCE: weights carried over without the optimizer's slots
    # must fall outside it, or the resume tests could not fail on a broken restore.
    x, y = _task(rng, n=128)
    fit = {"epochs": 2, "batch_size": 32, "shuffle": False, "verbose": 0}

    def fresh():
        keras.utils.set_random_seed(3)
        model = _mlp(ns.SparseGroupLasso(0.01), gate=ns.Gate(l1=0.01))
        model.compile(make_optimizer(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    uninterrupted = fresh()
    uninterrupted.fit(x, y, **fit)
    half_weights = [w.copy() for w in uninterrupted.get_weights()]
    uninterrupted.fit(x, y, **fit)
    restarted = fresh()
    restarted.set_weights(half_weights)
    restarted.fit(x, y, **fit)
    with pytest.raises(AssertionError):
        for a, b in zip(uninterrupted.get_weights(), restarted.get_weights()):
            np.testing.assert_allclose(a, b, **RESUMED_TRAINING_TOLERANCE)
