"""Fits with losses other than least squares (see symdiff/fitting.py)."""
