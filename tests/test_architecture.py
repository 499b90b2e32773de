"""Import boundaries: training-side code stays backend-agnostic and imports flow one way."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tf_neuronselect"
# Lower layers may not import higher ones: math -> training -> selection -> surgery ->
# shrink-while-training -> export -> cli. callbacks sits with surgery: it reports make_plan sizes.
LAYERS = [
    {"ops", "utils", "api_export", "grouping"},
    {"regularizers", "layers", "optimizers", "penalties"},
    {"selection"},
    {"surgery", "callbacks"},
    {"training"},
    {"exporting", "datasets"},
    {"cli", "examples"},
]
TENSORFLOW_ALLOWED = {"exporting", "cli", "datasets"}


def _rank(top):
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    return None


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        top = relative.parts[0].removesuffix(".py")
        yield path, top, ast.parse(path.read_text(), str(path))


def _imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


MODULES = list(_modules())
# Stable ids (pytest-xdist workers must collect the same names): the path inside the package.
IDS = [str(path.relative_to(PACKAGE)) for path, _, _ in MODULES]


@pytest.mark.parametrize("path, top, tree", MODULES, ids=IDS)
def test_only_export_and_cli_import_tensorflow(path, top, tree):
    uses_tf = [m for m in _imported(tree) if m == "tensorflow" or m.startswith("tensorflow.")]
    uses_legacy = [m for m in _imported(tree) if m.startswith(("tf_keras", "tensorflow_model_opt"))]
    assert not uses_legacy, f"{path} imports {uses_legacy}; the library is Keras 3 only"
    if top not in TENSORFLOW_ALLOWED:
        assert not uses_tf, f"{path} imports {uses_tf}; use keras.ops (only export/cli may use TF)"


@pytest.mark.parametrize("path, top, tree", MODULES, ids=IDS)
def test_imports_flow_one_way(path, top, tree):
    own = _rank(top)
    if own is None or top == "__init__":
        return
    for module in _imported(tree):
        if not module.startswith("tf_neuronselect."):
            continue
        target = module.split(".")[1]
        target_rank = _rank(target)
        assert target_rank is None or target_rank <= own, (
            f"{path} ({top}) imports {module} from a higher layer")
