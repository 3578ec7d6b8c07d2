"""symdisco: discover the symmetries hidden in a dataset, as Lie algebra generators."""
__version__ = "0.1.0"
