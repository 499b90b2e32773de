"""Ready-made networks and training settings for the demo, the notebooks and the tests.

Not part of the core API: ``tf_neuronselect.examples.recipes`` builds LeNet-5, LeNet-300-100 and
a small VGG with each method's penalty or gates, tuned on MNIST.
"""
