"""Numba compilation of generated modules: ``Compiled`` and the build stamp.

Shared by the straight-line kernels (``codegen.kernels``) and the tape interpreter
(``codegen.tape``), which both compile a generated module's functions with the same
options, lazily, with Numba's on-disk cache (and a rebuild when a cache entry is damaged).
"""
import functools
import pathlib
import warnings

from . import cache, vnumpy

OPTIONS = dict(cache=True, error_model="numpy", nogil=True)
_KERNELS_PY = pathlib.Path(__file__).with_name("kernels.py")   # its text shapes every module
_STREAMS_PY = pathlib.Path(__file__).with_name("streams.py")   # the blocked loops' stores (imports numba)
_FMA_PY = pathlib.Path(__file__).with_name("fma.py")           # vmath's intrinsics under Numba (imports numba)
_LOCAL_PY = pathlib.Path(__file__).with_name("local_arrays.py")  # the fused sums' lanes (imports numba)


@functools.lru_cache(maxsize=None)
def build_stamp():
    """What, besides a module's text, decides its compiled code: symdiff's version, the
    compile options and the math bound to ``np``. It goes into the module text, so the
    content hash (and Numba's cache) changes whenever any of them does."""
    import hashlib
    from symdiff.version import __version__
    from . import fma_exact, vmath, vmath_special
    h = hashlib.sha256()
    sources = (vmath.__file__, vmath_special.__file__, fma_exact.__file__, _FMA_PY, _STREAMS_PY, _LOCAL_PY,
               vnumpy.__file__, __file__, _KERNELS_PY)
    for part in (__version__, repr(sorted(OPTIONS.items())), repr(vnumpy.bindings()), repr(vnumpy.helper_bindings()),
                 *(pathlib.Path(f).read_bytes() for f in sources)):
        h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()[:16]


class Compiled:
    """Numba-compiled functions of one kernel module (compiled lazily, on first call).

    ``names``: the module's functions to compile; ``inline``: those Numba inlines at its IR
    level into their callers; ``np_inline``: whether vmath's functions are inlined too;
    ``bound``: module names to rebind to these (compiled stand-ins for the text's plain-Python
    helpers: the fused sums' lanes, the blocked loops' streaming stores)."""

    def __init__(self, source, names, inline=(), np_inline=False, bound=None):
        import numba
        self.source = source
        self.bound = dict(bound or {})
        self.module = cache.load(source)
        self.names = [name for name in names if hasattr(self.module, name)]
        self._numba = numba
        self.inline = set(inline)
        self.np_inline = np_inline
        self._wrap(cache_on=True)
        self._first = set()

    def _wrap(self, cache_on):
        numba = self._numba
        mod = self.module
        mod.prange = numba.prange
        for name, value in self.bound.items():   # compiled stand-ins for plain-Python helpers
            setattr(mod, name, value)
        mod.np = vnumpy.compiled(self.np_inline)
        mod.math = vnumpy.compiled_math(self.np_inline)
        rebound = vnumpy.bind_helpers(mod, "compiled_inline" if self.np_inline else "compiled")
        for name in self.names:
            if name in rebound:
                continue
            fn = getattr(mod, name)
            fn = getattr(fn, "py_func", fn)
            opts = dict(OPTIONS, cache=cache_on)
            if name.endswith("_ploop"):
                opts["parallel"] = True
            elif name in self.inline:
                opts["inline"] = "always"   # a call left in a loop body stops vectorization
            setattr(mod, name, numba.njit(**opts)(fn))

    def __call__(self, name, *args):
        fn = getattr(self.module, name)
        if name in self._first:
            return fn(*args)
        try:
            result = fn(*args)
        except Exception as exc:  # a damaged Numba cache entry: rebuild without it
            if not _cache_fault(exc):
                raise
            warnings.warn(f"symdiff: Numba cache entry for {self.module.__file__} is damaged "
                          f"({type(exc).__name__}: {exc}); recompiling without the cache",
                          RuntimeWarning, stacklevel=3)
            cache._drop_numba_cache(self.module.__file__)
            self._wrap(cache_on=False)
            result = getattr(self.module, name)(*args)
        self._first.add(name)
        return result


def _cache_fault(exc):
    import pickle
    text = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    return isinstance(exc, (pickle.UnpicklingError, EOFError, OSError, AttributeError,
                            ImportError, IndexError, KeyError, ValueError, TypeError)) \
        and "TypingError" not in text
