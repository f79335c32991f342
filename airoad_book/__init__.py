"""airoad book."""
