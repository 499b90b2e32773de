"""The benchmark scripts and their shared helpers, importable as ``benchmarks.*`` from the repo root.

Run a script as ``python -m benchmarks.run_all`` (what the Makefile does) or as
``python benchmarks/run_all.py``; both work from any directory.
"""
