"""airoad book: *From Bengio to the Transformer*, an executable book.

The package holds every model the book builds, the data it trains on and the experiments
that test each paper's claim. Start with `airoad-book list`.
"""

__version__ = "0.2.0"
