"""Import boundaries: the ranks of docs/architecture.md, checked on every import form."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tf_neuronselect"
NAME = "tf_neuronselect"
FACADE = "__init__"


def _design():
    """``{top-level name: rank}`` and the names that may import TensorFlow, from the table in
    docs/architecture.md (the design, not the code as it happens to be)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("<!-- ranks:start -->")[1].split("<!-- ranks:end -->")[0]
    ranks, tensorflow = {}, set()
    for line in table.strip().splitlines()[2:]:
        rank, packages = line.split("|")[1:3]
        for name, marker in re.findall(r"`([\w_]+)`( \(TensorFlow\))?", packages):
            ranks[name] = int(rank)
            if marker:
                tensorflow.add(name)
    return ranks, tensorflow


RANKS, TENSORFLOW_ALLOWED = _design()


def _submodules():
    return {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir()
                                                      if (p / "__init__.py").exists()}


SUBMODULES = _submodules()


def _absolute(module, level, importer):
    """The absolute dotted name a (possibly relative) ``from ... import`` refers to."""
    if not level:
        return module
    package = importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imported_targets(tree, importer):
    """Every ``tf_neuronselect`` top-level name ``tree`` imports, with its line: the facade
    (``__init__``) for ``import tf_neuronselect`` and for names of the facade that are not
    submodules."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _targets_of(alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node.module or "", node.level, importer)
            yield from _targets_of(module, [a.name for a in node.names], node.lineno)
        elif _is_import_module_call(node):
            yield from _targets_of(node.args[0].value, (), node.lineno)


def _is_import_module_call(node):
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


def _targets_of(module, names, line):
    parts = module.split(".")
    if parts[0] != NAME:
        return
    if len(parts) > 1:
        yield parts[1], line
        return
    for name in names or [None]:
        yield (name if name in SUBMODULES else FACADE), line


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def violations(source, relative_path):
    """Upward imports in the module at ``relative_path`` (inside the package) with
    ``source``: ``[(line, target)]``."""
    parts = pathlib.PurePosixPath(relative_path).with_suffix("").parts
    top = parts[0]
    # For a package's __init__ the last part stays: its relative imports resolve against
    # the package itself.
    importer = ".".join((NAME,) + parts)
    own = RANKS[top]
    tree = ast.parse(source)
    return [(line, target) for target, line in imported_targets(tree, importer)
            if target != top and RANKS.get(target, -1) > own]


MODULES = sorted(PACKAGE.rglob("*.py"))
IDS = [str(p.relative_to(PACKAGE)) for p in MODULES]


def test_every_top_level_name_has_a_rank():
    assert sorted(SUBMODULES - set(RANKS)) == []


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_imports_flow_one_way(path):
    relative = path.relative_to(PACKAGE).as_posix()
    found = violations(path.read_text(), relative)
    assert not found, f"{relative} imports from a higher layer: {found}"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_only_allowed_layers_import_tensorflow(path):
    top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    modules = list(imported_modules(ast.parse(path.read_text())))
    legacy = [m for m in modules if m.startswith(("tf_keras", "tensorflow_model_opt"))]
    assert not legacy, f"{path} imports {legacy}; the library is Keras 3 only"
    if top not in TENSORFLOW_ALLOWED:
        tensorflow = [m for m in modules if m == "tensorflow" or m.startswith("tensorflow.")]
        assert not tensorflow, f"{path} imports {tensorflow}; use keras.ops"


PLANTED = [
    ("ops/planted.py", "import tf_neuronselect\n"),
    ("ops/planted.py", "import tf_neuronselect as ns\n"),
    ("selection/planted.py", "from tf_neuronselect import surgery\n"),
    ("surgery/planted.py", "from tf_neuronselect import shrink\n"),  # a facade name
    ("surgery/planted.py", "def f():\n    from tf_neuronselect.training import budget\n"),
    ("surgery/planted.py", "from ..training import budget\n"),
    ("surgery/sub/planted.py", "from ...exporting import tflite\n"),
    ("training/planted.py", "import tf_neuronselect.exporting.tflite as t\n"),
    ("exporting/planted.py", "import importlib\nimportlib.import_module('tf_neuronselect.cli')\n"),
    ("grouping.py", "from . import layers\n"),
    ("exporting/__init__.py", "from .. import cli\n"),
]


@pytest.mark.parametrize("relative, source", PLANTED)
def test_a_planted_upward_import_is_caught(relative, source):
    assert violations(source, relative), f"missed: {source!r} in {relative}"


@pytest.mark.parametrize("relative, source", [
    ("surgery/planted.py", "from tf_neuronselect.selection import dead\n"),
    ("surgery/planted.py", "from . import plan\nfrom ..utils import arrays\n"),
    ("cli/planted.py", "import tf_neuronselect as ns\n"),
    ("training/planted.py", "from tf_neuronselect import surgery\n"),
])
def test_downward_imports_are_allowed(relative, source):
    assert violations(source, relative) == []


def test_the_cli_launcher_imports_only_the_standard_library_at_module_level():
    tree = ast.parse((ROOT / "neuronselect.py").read_text())
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = {alias.name.split(".")[0] for node in top_level for alias in node.names
             if isinstance(node, ast.Import)}
    names |= {node.module.split(".")[0] for node in top_level
              if isinstance(node, ast.ImportFrom) and node.module}
    assert names <= {"argparse", "os", "sys"}, names
