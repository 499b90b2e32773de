"""Compressing trained MNIST networks, run by ``benchmarks/bench_compress.py`` (issue 20; its
docstring says what it does)."""
