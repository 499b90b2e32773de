"""Checking error messages word for word."""

import re


def exactly(message):
    """A ``pytest.raises(..., match=...)`` pattern that accepts ``message`` and nothing else."""
    return f"^{re.escape(message)}$"
