"""The commands of the ``neuronselect`` command line (see ``neuronselect.py``)."""
