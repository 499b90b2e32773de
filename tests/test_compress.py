"""``compress``: a trained model in, a compact fine-tuned copy and a record out."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.errors import exactly

L = keras.layers


def _trained(seed=0):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(512, 12)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int32") + 2 * (x[:, 3] > 0.5)
    inputs = keras.Input((12,))
    h = L.Dense(64, activation="relu", name="h1")(inputs)
    h = L.Dense(32, activation="relu", name="h2")(h)
    model = keras.Model(inputs, L.Dense(4, name="out")(h))
    model.compile(keras.optimizers.Adam(3e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model, (x, y)


def _weights(model):
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["prune", "penalty"])
def test_compress_meets_the_size_target_and_leaves_the_model_alone(method):
    model, data = _trained()
    before = _weights(model)
    compact, record = ns.compress(model, data, params=0.2, epochs=2, method=method,
                                  validation_data=data, verbose=0, batch_size=64)
    assert compact.count_params() / (0.2 * model.count_params()) == pytest.approx(1, abs=0.1)
    assert record.method == method and record.phases[-1]["params"] == compact.count_params()
    assert sum(p["epochs"] for p in record.phases) == 2
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(model)))
    loss, accuracy = compact.evaluate(*data, verbose=0)  # compiled like the original
    assert np.isfinite(loss) and 0 <= accuracy <= 1


@pytest.mark.slow
def test_distillation_trains_the_student_and_leaves_the_teacher_trainable():
    model, data = _trained(1)
    compact, record = ns.compress(model, data, macs=0.3, epochs=2, method="prune",
                                  distill=True, verbose=0, batch_size=64)
    assert model.trainable and all(w.trainable for w in model.trainable_weights)
    assert ns.count_macs(compact) <= 0.33 * ns.count_macs(model)
    assert record.phases and "val_loss" not in record.phases[-1]  # no validation data given


def test_the_penalty_recipe_of_an_adam_model_takes_its_prox_in_adams_metric():
    from tf_neuronselect.training import finetune

    adam = finetune.optimizer_like(keras.optimizers.Adam(1e-3), 10, proximal=True)
    sgd = finetune.optimizer_like(keras.optimizers.SGD(0.01, momentum=0.5), 10, proximal=True)
    assert isinstance(adam, ns.ProximalAdam) and adam.adaptive_prox
    assert isinstance(sgd, ns.ProximalSGD) and sgd.momentum == 0.5


def test_the_adaptive_starting_strength_weighs_each_unit_by_its_mean_gradient_rms():
    from tf_neuronselect.training.compression import starting_strength

    model, _ = _trained()
    (w1, b1), (w2, b2), (w3, _) = (model.get_layer(n).get_weights() for n in ("h1", "h2", "out"))
    rng = np.random.default_rng(4)
    rms = {w.path: rng.uniform(0.1, 2.0, size=w.shape) for w in model.trainable_weights}
    r1, rb1, r2, rb2, r3, _ = (rms[w.path] for w in model.trainable_weights)
    # A unit of h1: its kernel column and bias (penalized, their RMS the prox's metric), and its
    # row of h2's kernel (in its norm only); of h2 likewise.
    units = [(np.concatenate([w1[:, j], [b1[j]], w2[j]]), np.append(r1[:, j], rb1[j]))
             for j in range(64)]
    units += [(np.concatenate([w2[:, j], [b2[j]], w3[j]]), np.append(r2[:, j], rb2[j]))
              for j in range(32)]
    total_step = 0.5
    plain = [np.linalg.norm(w) / (np.sqrt(r.size) * total_step) for w, r in units]
    weighed = [p * r.mean() for p, (_, r) in zip(plain, units)]
    assert starting_strength(model, 0.3, total_step) == pytest.approx(np.quantile(plain, 0.3))
    assert starting_strength(model, 0.3, total_step, rms) == pytest.approx(
        np.quantile(weighed, 0.3), rel=1e-6)


def test_auto_takes_the_penalty_recipe_when_its_training_gets_enough_steps():
    from tf_neuronselect.training import compression as compress_module

    data = (np.zeros((1000, 4)), np.zeros(1000))
    # 3 of 5 epochs at batch 128: 3 * 8 = 24 steps; at batch 10: 3 * 100 = 300 steps.
    few = compress_module.Settings(5, 128, None, False, 0)
    many = compress_module.Settings(5, 10, None, False, 0)
    assert compress_module.penalty_steps(data, few) == 24
    assert compress_module._auto(compress_module.penalty_steps(data, few)) == "prune"
    assert compress_module.penalty_steps(data, many) == 300
    assert compress_module._auto(compress_module.penalty_steps(data, many)) == "penalty"
    sgd, adam = keras.optimizers.SGD(0.01, momentum=0.9), keras.optimizers.Adam(1e-3)
    assert compress_module._auto(300, sgd) == "penalty"
    assert compress_module._auto(300, adam) == "prune"
    assert compress_module._auto(300, ns.ProximalAdam(1e-3)) == "prune"
    assert compress_module.prune_steps(0.1, 10) == 2 and compress_module.prune_steps(0.01, 10) == 4
    assert compress_module.prune_steps(0.01, 2) == 2  # never more steps than epochs


@pytest.mark.parametrize("kwargs, message", [
    ({}, "compress: expected exactly one target: params=, macs= or latency=. Received: none. "
         "How to fix: pass e.g. params=0.1 (keep a tenth of the parameters)."),
    ({"params": 1.5}, "compress: expected `params` to be a share of the model in (0, 1) or a "
                      "positive int. Received: params=1.5. How to fix: pass e.g. params=0.1."),
    ({"latency": 2}, "compress: expected `latency` to be a share of the model in (0, 1). "
                     "Received: latency=2. How to fix: pass e.g. latency=0.1."),
    ({"params": 0.1, "method": "magic"}, "compress: expected `method` to be one of 'auto', "
     "'prune', 'penalty'. Received: method='magic'. Pass one of the listed values."),
    ({"params": 0.1, "epochs": 0}, "compress: expected `epochs` to be a positive int. "
     "Received: epochs=0. How to fix: pass e.g. epochs=5."),
])
def test_bad_arguments_are_refused(kwargs, message):
    model, data = _trained()
    with pytest.raises(ValueError, match=exactly(message)):
        ns.compress(model, data, **kwargs)


def test_an_uncompiled_model_or_bad_data_is_refused():
    model, data = _trained()
    bare = keras.Model(model.inputs, model.outputs)
    with pytest.raises(ValueError, match="compress: expected a compiled model"):
        ns.compress(bare, data, params=0.1)
    with pytest.raises(ValueError, match=exactly(
            "compress: expected `train_data` to be a pair (x, y) of arrays with the same number "
            "of samples. Received: ndarray. How to fix: pass train_data=(x_train, y_train).")):
        ns.compress(model, data[0], params=0.1)
    with pytest.raises(ValueError, match="compress: expected a model compiled with a keras"):
        mse = keras.Model(model.inputs, model.outputs)
        mse.compile("sgd", "mse")
        ns.compress(mse, data, params=0.1, distill=True)
