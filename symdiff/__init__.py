"""symdiff: formulas -> SymPy-backed graph -> explicit reverse pass -> readable Python
-> Numba kernels.

    >>> import symdiff
    >>> d = symdiff.differentiate("sigmoid(a*x + b*y + c)")
    >>> value, grad = d(a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0)
"""
from .errors import FormulaError
from .api import differentiate, check, Derivative

__version__ = "0.1.0"
__all__ = ["differentiate", "check", "Derivative", "FormulaError", "__version__"]
