"""classfreq: class frequency in caption corpora versus per-class accuracy of vision(-language) models."""

__version__ = "0.1.0"
