"""Every library and benchmark file reads in one sitting: no function over 60 lines, no file
over 400."""

import ast
import pathlib
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKED = ("tf_neuronselect", "benchmarks")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
FILES = sorted(path for folder in CHECKED for path in (ROOT / folder).rglob("*.py"))
FILES.append(ROOT / "neuronselect.py")
IDS = [str(path.relative_to(ROOT)) for path in FILES]


def long_functions(source, limit=MAX_FUNCTION_LINES):
    """(name, first line, lines) of every function or method longer than ``limit`` lines, from
    its ``def`` line to its last line (a nested function counts in its outer one too)."""
    return [(node.name, node.lineno, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_is_at_most_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_FILE_LINES, (
        f"{path.relative_to(ROOT)}: expected at most {MAX_FILE_LINES} lines. Received: {lines}. "
        "Fix: split the file by what its parts do.")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_functions_are_at_most_60_lines(path):
    found = long_functions(path.read_text())
    assert not found, (
        f"{path.relative_to(ROOT)}: expected functions of at most {MAX_FUNCTION_LINES} lines. "
        f"Received: {', '.join(f'{n} (line {start}, {size} lines)' for n, start, size in found)}. "
        "Fix: move steps that can be named into functions of their own.")


def test_the_check_finds_a_long_function_and_a_long_method():
    body = "\n".join(f"    x{i} = {i}" for i in range(60))  # with the def line: 61 lines
    source = f"def long():\n{body}\n\n\ndef short():\n    return 1\n\n\nclass A:\n"
    source += textwrap.indent(f"def method(self):\n{body}\n", "    ")
    assert long_functions(source) == [("long", 1, 61), ("method", 69, 61)]
    assert long_functions(source, limit=61) == []
