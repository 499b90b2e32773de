"""Every family of ``keras.applications`` (its smallest member, weights=None, a small input)
shrinks exactly once units die the way training kills them: whole unit groups zeroed, or
BatchNorm gamma = beta = 0 (Network Slimming's sign of a dead channel)."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers import model_zoo
from tests.helpers.unit_groups import silence_batchnorm
from tests.helpers.unit_groups import zero_unit_groups
from tf_neuronselect.utils import keras_private

# name -> input side (the smallest each family accepts, or 32).
FAMILIES = {
    "ConvNeXtTiny": 32, "DenseNet121": 32, "EfficientNetB0": 32, "EfficientNetV2B0": 32,
    "InceptionResNetV2": 75, "InceptionV3": 75, "MobileNet": 32, "MobileNetV2": 32,
    "MobileNetV3Small": 32, "MobileNetV3Large": 32, "NASNetMobile": 32, "ResNet50": 32,
    "ResNet50V2": 32, "VGG16": 32, "Xception": 71,
}
# Families whose BatchNorm has no gamma (scale=False: Inception) or that have none (VGG16;
# ConvNeXt normalizes with LayerNormalization): gamma = beta = 0 cannot silence a channel.
WITHOUT_BATCHNORM_GAMMA = ("ConvNeXtTiny", "InceptionResNetV2", "InceptionV3", "VGG16")
MAX_KEPT = 0.80


def _build(name, rng):
    side = FAMILIES[name]
    model = getattr(keras.applications, name)(weights=None, input_shape=(side, side, 3),
                                              classes=10)
    for layer in keras_private.own_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            model_zoo.randomize_batchnorm(layer, rng)
    return model


def _assert_shrinks_exactly(model, rng):
    shrunk = ns.shrink(model)
    x = rng.normal(size=(2,) + tuple(model.inputs[0].shape[1:])).astype("float32")
    before = keras.ops.convert_to_numpy(model(x))
    after = keras.ops.convert_to_numpy(shrunk(x))
    assert np.max(np.abs(before - after)) <= 1e-5 * max(1.0, float(np.max(np.abs(before))))
    kept = shrunk.count_params() / model.count_params()
    assert kept <= MAX_KEPT, f"kept {kept:.3f} of the parameters"
    return shrunk


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_zeroed_unit_groups_shrink_every_family_exactly(name):
    rng = np.random.default_rng(0)
    model = _build(name, rng)
    assert zero_unit_groups(model, 0.3, rng) > 0
    _assert_shrinks_exactly(model, rng)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(FAMILIES) - set(WITHOUT_BATCHNORM_GAMMA)))
def test_batchnorm_gamma_and_beta_zero_shrink_every_family_exactly(name):
    rng = np.random.default_rng(1)
    model = _build(name, rng)
    assert silence_batchnorm(model, 0.3, rng) > 0
    _assert_shrinks_exactly(model, rng)


def test_batchnorm_without_gamma_cannot_silence_a_channel():
    # Inception's BatchNorm(scale=False) computes (x - mean) / std + beta: beta = 0 leaves the
    # channel alive, so nothing may go (the documented limitation of that family).
    x = keras.Input((6, 6, 3))
    h = keras.layers.Conv2D(8, 3, use_bias=False, name="conv")(x)
    h = keras.layers.BatchNormalization(scale=False, name="bn")(h)
    model = keras.Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    bn = model.get_layer("bn")
    model_zoo.randomize_batchnorm(bn, np.random.default_rng(2))
    bn.beta.assign(np.zeros(8))
    assert ns.make_plan(model).layers["conv"].keep_out.tolist() == list(range(8))
