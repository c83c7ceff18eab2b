"""rnnmnist: the TF1 "LSTM reads MNIST row by row" tutorials, running again under tf.compat.v1.

Importing the package does not import TensorFlow; `rnnmnist.tfcompat` is the one place that does.
"""
__version__ = "0.1.0"
