"""Writes the Colab notebooks in this folder (run it after editing the cells below).

    python colab/make_notebooks.py
"""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell
from nbformat.v4 import new_markdown_cell
from nbformat.v4 import new_notebook

HERE = pathlib.Path(__file__).resolve().parent

INSTALL = '''import sys
if "google.colab" in sys.modules:  # in a clone of the repository the package is installed already
    %pip install -q tf-neuronselect'''

SETTINGS = '''import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests run this notebook with NS_NOTEBOOK_EPOCHS=1 and NS_NOTEBOOK_DATASET=digits.
EPOCHS = int(os.environ.get("NS_NOTEBOOK_EPOCHS", "8"))
DATASET = os.environ.get("NS_NOTEBOOK_DATASET", "mnist")

import keras
import numpy as np
import tf_neuronselect as ns

try:
    data = ns.datasets.load(DATASET)
except FileNotFoundError as error:
    print(error, "-> using the bundled digits instead")
    data = ns.datasets.load("digits")
print(data.name, data.x_train.shape, data.x_test.shape)'''

QUICKSTART_MODEL = '''keras.utils.set_random_seed(0)
strength = 5e-4 if data.name == "mnist" else 5e-3
inputs = keras.Input(data.input_shape)
x = keras.layers.Flatten()(inputs)
x = keras.layers.Dense(300, activation="relu", kernel_regularizer=ns.GroupLasso(strength))(x)
x = keras.layers.Dense(100, activation="relu", kernel_regularizer=ns.GroupLasso(strength))(x)
model = keras.Model(inputs, keras.layers.Dense(data.num_classes)(x))
model.compile(ns.ProximalSGD(0.05, momentum=0.9),
              keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
tracker = ns.NeuronHistory()
model.fit(data.x_train, data.y_train, batch_size=128, epochs=EPOCHS, verbose=2,
          validation_data=(data.x_test, data.y_test), callbacks=[tracker])'''

SHRINK = '''print(ns.report(model))
compact = ns.shrink(model)
difference = np.max(np.abs(model.predict(data.x_test, verbose=0) - compact.predict(data.x_test, verbose=0)))
print(f"parameters {model.count_params():,} -> {compact.count_params():,}; max output difference {difference:.2e}")
assert difference <= 1e-4'''

EXPORT = '''import tempfile
from ai_edge_litert.interpreter import Interpreter

out = os.path.join(tempfile.mkdtemp(), "compact")
manifest = ns.export(compact, out, quantize="float16")
for name, info in sorted(manifest["files"].items()):
    print(f"{name}: {info['bytes']:,} bytes")

interpreter = Interpreter(model_path=os.path.join(out, "model_float32.tflite"))
runner = interpreter.get_signature_runner()
input_name = list(runner.get_input_details())[0]
sample = data.x_test[:1].astype("float32")
tflite_out = list(runner(**{input_name: sample}).values())[0]
keras_out = compact.predict(sample, verbose=0)
print("TFLite vs Keras max difference:", np.max(np.abs(tflite_out - keras_out)))
assert np.allclose(tflite_out, keras_out, atol=1e-4)'''

PLOT = '''import matplotlib.pyplot as plt
steps, per_layer = tracker.per_layer()
for name, counts in per_layer.items():
    plt.plot(steps, counts, label=name)
plt.xlabel("training step"); plt.ylabel("alive units"); plt.yscale("log"); plt.legend(); plt.show()'''

METHOD_MODEL = '''from tf_neuronselect.examples import recipes
keras.utils.set_random_seed(0)
METHOD = "{method}"
arch = "lenet5" if data.name == "mnist" else "mlp"
strength = recipes.DEFAULT_STRENGTH[METHOD] * (1 if data.name == "mnist" else 10)
model = recipes.build(arch, METHOD, data.input_shape, data.num_classes, strength)
model.compile(recipes.optimizer_for(METHOD),
              keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
model.summary()
tracker = ns.NeuronHistory()
model.fit(data.x_train, data.y_train, batch_size=128, epochs=EPOCHS, verbose=2,
          validation_data=(data.x_test, data.y_test), callbacks=[tracker])'''

METHODS = {
    "group-lasso": "Group lasso per neuron with the proximal step (Alvarez & Salzmann 2016).",
    "sparse-group-lasso": "Sparse group lasso, alpha = 0.5 (Alvarez & Salzmann 2016).",
    "li-lo": "DropNeuron's incoming (li) and outgoing (lo) group penalties (Pan et al. 2016).",
    "gate": "ShrinkNets' gate layers x * max(0, theta) with an L1 prox (Leclerc et al. 2018).",
    "tri-state": "Tri-state ReLU width and depth gates (Srinivas & Babu 2015).",
}


def quickstart():
    return new_notebook(cells=[
        new_markdown_cell("# tf_neuronselect quickstart\nTrain with a group-lasso penalty and the "
                          "proximal optimizer, remove the dead neurons, export TFLite and run it."),
        new_code_cell(INSTALL), new_code_cell(SETTINGS),
        new_markdown_cell("## Train: whole neurons reach exactly zero"),
        new_code_cell(QUICKSTART_MODEL),
        new_markdown_cell("## Shrink: same outputs, fewer units"), new_code_cell(SHRINK),
        new_markdown_cell("## Export and run the TFLite file with LiteRT"), new_code_cell(EXPORT),
        new_markdown_cell("## Units alive while training"), new_code_cell(PLOT),
    ])


def method_notebook(method, blurb):
    return new_notebook(cells=[
        new_markdown_cell(f"# Method: {method}\n{blurb}"),
        new_code_cell(INSTALL), new_code_cell(SETTINGS),
        new_code_cell(METHOD_MODEL.format(method=method)),
        new_code_cell(SHRINK), new_code_cell(EXPORT), new_code_cell(PLOT),
    ])


def main():
    nbformat.write(quickstart(), HERE / "quickstart.ipynb")
    for method, blurb in METHODS.items():
        nbformat.write(method_notebook(method, blurb), HERE / f"method_{method.replace('-', '_')}.ipynb")
    print("wrote", sorted(p.name for p in HERE.glob("*.ipynb")))


if __name__ == "__main__":
    main()
