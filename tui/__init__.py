"""Stopline: look up and cancel orders across four order systems from the terminal."""

__version__ = "0.1.0"
