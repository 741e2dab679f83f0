"""Plaza: an open framework for conversational commerce."""

__version__ = "0.1.0"
