"""The sequence-model benchmark (bench_sequence.py): a small ViT on 7x7 MNIST patches (attention
heads and MLP neurons) and an LSTM reading MNIST's rows (its units), dense against unit-group
group lasso, shrunk and exported to TFLite."""
