"""NumPy-only teaching code: every forward and backward written by hand.

Part I builds a neural network with nothing but arrays: dense layers, activations,
softmax with cross-entropy and optimizers (chapter 1), convolution and pooling (chapter
4), a recurrent net with backpropagation through time (chapter 7). The `gradcheck`
module holds the central-difference check that proves each hand-written backward right;
the tests then compare the same computations against PyTorch's autograd.

Nothing here imports torch: these files are meant to be read, line by line, next to the
equations they implement.
"""
