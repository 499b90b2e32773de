from tf_neuronselect.cli.main import main

__all__ = ["main"]
