"""The MNIST study run by ``benchmarks/bench_mnist.py`` (its docstring says what it does)."""
