"""The models, one file per paper: each opens with its citation and builds the model
from the paper's equations."""
