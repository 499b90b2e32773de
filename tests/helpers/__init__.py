"""Code shared by the tests: model factories, random graphs, NumPy references and checks.

Tests import it as ``from tests.helpers import model_zoo`` (``tests`` is a package and pytest
puts the repository root on ``sys.path``); nothing here is collected as a test. The subprocess
scripts (``tests/distributed_script.py``, ``tests/multiworker_script.py``) run as
``python -m tests.<script>`` from the repository root, so they import it the same way.
"""
