"""The MobileNetV3 training benchmark (bench_mobile.py): per-kernel group lasso, zero-invariant
unit-group group lasso and gates on MobileNetV3Small / MNIST."""
