"""symdiff: formulas -> SymPy-backed graph -> explicit reverse pass -> readable Python
-> Numba kernels.

    >>> import symdiff
    >>> d = symdiff.differentiate("sigmoid(a*x + b*y + c)")
    >>> value, grad = d(a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0)
"""
from .errors import FormulaError, FormulaWarning
from .api import differentiate, check, Derivative
from .api_second import hessian, jacobian, jvp, hvp
from .version import __version__

__all__ = ["differentiate", "check", "fit", "Derivative", "hessian", "jacobian", "jvp", "hvp",
           "FormulaError", "FormulaWarning", "__version__"]


def __getattr__(name):   # the trainer and the fitter are loaded on first use
    if name in ("mlp_trainer", "load_trainer"):
        from . import trainer
        return getattr(trainer, name)
    if name in ("fit", "FitResult"):
        from . import fitting             # symdiff/fitting.py (needs SciPy)
        return getattr(fitting, name)
    raise AttributeError(f"module 'symdiff' has no attribute {name!r}")
