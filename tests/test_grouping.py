"""The grouping module's layouts checked against what each Keras layer really computes."""

import keras
import numpy as np
import pytest
from keras import ops

from tf_neuronselect import grouping

L = keras.layers

# (factory, input shape without batch, input channels)
LAYER_CASES = {
    "dense": (lambda: L.Dense(6), (5,)),
    "conv1d": (lambda: L.Conv1D(6, 3), (8, 5)),
    "conv2d": (lambda: L.Conv2D(6, 3), (7, 7, 5)),
    "conv3d": (lambda: L.Conv3D(6, 2), (4, 4, 4, 5)),
    "conv1d_transpose": (lambda: L.Conv1DTranspose(6, 3), (8, 5)),
    "conv2d_transpose": (lambda: L.Conv2DTranspose(6, 3), (5, 5, 5)),
    "conv3d_transpose": (lambda: L.Conv3DTranspose(6, 2), (3, 3, 3, 5)),
    "depthwise1d": (lambda: L.DepthwiseConv1D(3, depth_multiplier=2), (8, 5)),
    "depthwise2d": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2), (6, 6, 5)),
    "separable1d": (lambda: L.SeparableConv1D(6, 3, depth_multiplier=2), (8, 5)),
    "separable2d": (lambda: L.SeparableConv2D(6, 3, depth_multiplier=2), (6, 6, 5)),
}


def _built(name, rng):
    factory, shape = LAYER_CASES[name]
    layer = factory()
    layer.build((None,) + shape)
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    x = rng.normal(size=(2,) + shape).astype("float32")
    return layer, x


def _zero_group(layer, unit, side):
    spec = grouping.unit_spec(layer)
    kernel = getattr(layer, spec.kernel)
    matrix = np.array(grouping.unit_matrix(kernel.value, spec.layout, side))
    matrix[:, unit] = 0.0
    kernel.assign(grouping.from_unit_matrix(matrix, tuple(kernel.shape), spec.layout, side))
    return spec


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_zero_incoming_group_and_bias_silences_exactly_that_output_channel(name, rng):
    layer, x = _built(name, rng)
    before = np.asarray(layer(x))
    spec = _zero_group(layer, 1, grouping.INCOMING)
    bias = getattr(layer, spec.bias)
    bias.assign(ops.where(ops.arange(bias.shape[0]) == 1, 0.0, bias.value))
    after = np.asarray(layer(x))
    assert np.all(after[..., 1] == 0.0)
    others = [c for c in range(after.shape[-1]) if c != 1]
    np.testing.assert_allclose(after[..., others], before[..., others], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_zero_outgoing_group_makes_output_ignore_that_input_channel(name, rng):
    layer, x = _built(name, rng)
    spec = grouping.unit_spec(layer)
    if spec.depthwise is not None:
        pytest.skip("a separable conv's input channels are read by its depthwise kernel")
    _zero_group(layer, 2, grouping.OUTGOING)
    perturbed = np.array(x)
    perturbed[..., 2] += 10.0
    np.testing.assert_allclose(np.asarray(layer(perturbed)), np.asarray(layer(x)), atol=1e-5)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
@pytest.mark.parametrize("side", grouping.SIDES)
def test_unit_matrix_round_trips(name, side, rng):
    layer, _ = _built(name, rng)
    spec = grouping.unit_spec(layer)
    kernel = np.asarray(getattr(layer, spec.kernel).value)
    matrix = grouping.unit_matrix(kernel, spec.layout, side)
    assert tuple(matrix.shape) == (
        grouping.group_size(kernel.shape, spec.layout, side),
        grouping.num_units(kernel.shape, spec.layout, side),
    )
    back = grouping.from_unit_matrix(matrix, kernel.shape, spec.layout, side)
    np.testing.assert_array_equal(np.asarray(back), kernel)
    np.testing.assert_allclose(
        grouping.unit_norms_numpy(kernel, spec.layout, side),
        np.linalg.norm(np.asarray(matrix), axis=0), rtol=1e-5,
    )


LAYOUT_SHAPES = [
    (grouping.STANDARD, (3, 3, 5, 6)), (grouping.TRANSPOSED, (3, 6, 5)),
    (grouping.DEPTHWISE, (3, 3, 5, 2)), (grouping.HEADS, (8, 3, 4)),
    (grouping.HEAD_ROWS, (3, 4, 8)), (grouping.HEADS_FIRST, (3, 8, 4)),
    ("lstm", (5, 4 * 6)), ("gru", (5, 3 * 6)),
]


@pytest.mark.parametrize("layout,shape", LAYOUT_SHAPES)
@pytest.mark.parametrize("side", grouping.SIDES)
def test_group_sums_of_squares_are_the_squared_group_norms(layout, shape, side, rng):
    # dead_counts squares a kernel once and sums each side's groups in place; the NumPy
    # norms (their own transposes and reshapes) are the independent answer.
    kernel = rng.normal(size=shape).astype("float32")
    kernel[..., 1] = 0.0
    sums = grouping.group_sums(ops.square(kernel), layout, side)
    np.testing.assert_allclose(np.asarray(sums),
                               grouping.unit_norms_numpy(kernel, layout, side) ** 2, rtol=1e-5)


def test_take_units_keeps_whole_depthwise_channels(rng):
    kernel = rng.normal(size=(3, 3, 4, 2))
    kept = grouping.take_units(kernel, grouping.DEPTHWISE, grouping.INCOMING, [2, 3, 6, 7])
    np.testing.assert_array_equal(kept, kernel[:, :, [1, 3], :])
    with pytest.raises(ValueError, match="keeps whole input channels"):
        grouping.take_units(kernel, grouping.DEPTHWISE, grouping.INCOMING, [2, 3, 6])


def test_heads_first_groups_are_the_heads_of_an_einsum_projection(rng):
    # Gemma's query/key/value: "btd,ndh->btnh", kernel (heads, in, head_dim).
    layer = L.EinsumDense("btd,ndh->btnh", output_shape=(None, 3, 4))
    layer.build((None, 5, 6))
    layer.kernel.assign(rng.normal(size=(3, 6, 4)).astype("float32"))
    x = rng.normal(size=(2, 5, 6)).astype("float32")
    before = np.asarray(layer(x))
    kernel = np.asarray(layer.kernel.value)
    assert grouping.num_units(kernel.shape, grouping.HEADS_FIRST, grouping.INCOMING) == 3
    matrix = np.array(grouping.unit_matrix(kernel, grouping.HEADS_FIRST, grouping.INCOMING))
    matrix[:, 1] = 0.0
    layer.kernel.assign(grouping.from_unit_matrix(matrix, kernel.shape, grouping.HEADS_FIRST))
    after = np.asarray(layer(x))
    assert np.all(after[:, :, 1] == 0.0)
    np.testing.assert_allclose(after[:, :, [0, 2]], before[:, :, [0, 2]], rtol=1e-5)
    kept = grouping.take_units(kernel, grouping.HEADS_FIRST, grouping.INCOMING, [0, 2])
    np.testing.assert_array_equal(kept, kernel[[0, 2]])


def test_unknown_layer_is_refused_by_name():
    layer = L.ConvLSTM1D(3, 2, name="my_lstm")
    assert grouping.unit_spec(layer) is None
    with pytest.raises(ValueError, match="Layer 'my_lstm' of type ConvLSTM1D has no known "
                                         "per-unit"):
        grouping.require_unit_spec(layer)


def test_subclass_of_a_known_layer_is_not_guessed():
    class MyDense(L.Dense):
        pass

    assert grouping.unit_spec(MyDense(3)) is None
    grouping.register_unit_spec(MyDense, grouping.UnitSpec("kernel", grouping.STANDARD))
    assert grouping.unit_spec(MyDense(3)).layout == grouping.STANDARD


def test_grouped_convolution_is_refused():
    with pytest.raises(ValueError, match="groups=2"):
        grouping.unit_spec(L.Conv2D(4, 3, groups=2, name="g"))


def test_bias_has_no_outgoing_groups():
    with pytest.raises(ValueError, match="has no outgoing groups"):
        grouping.unit_axes(1, grouping.STANDARD, grouping.OUTGOING)
