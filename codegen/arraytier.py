"""The array tier: a kernel module run over whole NumPy arrays, with nothing to compile.

The first array calls of a derivative run here while its Numba kernel compiles in the
background (``codegen.background``). The generated module is already flat code, so it runs
over arrays as it is once its few scalar-only constructs are rewritten (an AST transform
of the very same text, line numbers kept):

- ``a if c else b`` becomes ``np.where(c, a, b)``; ``or``/``and``/``not`` become
  ``np.logical_or``/``logical_and``/``logical_not`` (kinks, branches, NaN tests);
- ``x += y`` becomes ``x = x + y``: the same arithmetic, but no array is changed in place
  (``dc = dt2; dc += ...`` must not change ``dt2``);
- ``float(x)`` (vmath's "no-op under Numba") becomes ``np.float64(x)``, which keeps arrays.

Its ``np`` holds the kernels' own math (``codegen.vmath``, rewritten the same way, so each
element takes the same float operations in the same order), and powers are computed as
compiled code computes them (``codegen.powers``). The C library's functions the kernels
call (``sinh``, ``tan``, ``erf``, ``pow``, ``exp2``...) run element by element through the
plain-Python ones: NumPy's own versions use other (SIMD) code that differs in the last bit.
So the array tier gives the compiled kernels' numbers, bit for bit (tests/test_tiers.py).
"""
import ast
import functools
import importlib.util
import inspect
import math
import os
import pathlib
import types

import numpy as np

from . import cache, powers, vmath, vnumpy


def _call(name, args, node):
    return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, []), node)


class _Arrays(ast.NodeTransformer):
    """Scalar-only constructs rewritten into their elementwise NumPy forms."""

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return _call("_sd_where", [node.test, node.body, node.orelse], node)

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        name = "_sd_or" if isinstance(node.op, ast.Or) else "_sd_and"
        result = node.values[0]
        for value in node.values[1:]:
            result = _call(name, [result, value], node)
        return result

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return _call("_sd_not", [node.operand], node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = ast.copy_location(ast.Name(node.target.id, ast.Load()), node.target)
        value = ast.copy_location(ast.BinOp(target, node.op, node.value), node)
        return ast.copy_location(ast.Assign([node.target], value), node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):   # left by powers.rewrite: a call to libm's pow
            return _call("_sd_pow", [node.left, node.right], node)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "float":
            node.func = ast.copy_location(ast.Name("_sd_float", ast.Load()), node.func)
        return node


def transform(source):
    """``source`` rewritten to run over arrays: powers as compiled (``powers``), then the
    scalar-only constructs (``_Arrays``). Returns source text (comments dropped)."""
    tree = ast.parse(source)
    tree = powers._Powers().visit(tree)
    return ast.unparse(ast.fix_missing_locations(_Arrays().visit(tree))) + "\n"


@functools.lru_cache(maxsize=None)
def _version():
    """What besides the input text decides a rewritten module: this file and vmath's."""
    from . import vmath_special
    return cache.digest("".join(pathlib.Path(f).read_text() for f in (__file__, vmath.__file__, vmath_special.__file__)))


def _load(key, make_source, namespace, label, after=None):
    """The rewritten module for ``key`` (the text it is made from), as a real file in the
    kernel cache: the rewrite runs once per machine, later processes import the file
    (with its bytecode cached by Python). ``namespace`` is bound before it runs, ``after``
    once it has run (its own ``import numpy as np`` replaced)."""
    name = f"sd_{cache.digest(key + _version())[:cache.HASH_CHARS]}_{label}"
    try:
        directory = cache._writable_dir()
        path = os.path.join(directory, name + ".py")
        if not _intact(path):
            cache._atomic_write(path, cache.file_text(make_source()))
        cache._package(directory)
        spec = importlib.util.spec_from_file_location(f"symdiff_kernels.{name}", path)
        module = importlib.util.module_from_spec(spec)
        module.__dict__.update(namespace)
        spec.loader.exec_module(module)   # our generated module (its hash checked by _intact)
    except OSError:   # no usable cache (full disk, deleted directory): run it from memory
        module = types.ModuleType(name)
        module.__dict__.update(namespace)
        exec(compile(make_source(), f"<symdiff {label}>", "exec"), module.__dict__)   # ours
    module.__dict__.update(after or {})
    return module


def _intact(path):
    """Whether ``path`` holds a whole file written by ``cache.file_text``."""
    try:
        found = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    mark = "\n\n" + cache._MARK
    at = found.rfind(mark)
    return at >= 0 and found.endswith("\n") and found[at + len(mark):-1] == cache.digest(found[:at])


def _elementwise(fn, nargs=1):
    """fn applied element by element (exact: the plain-Python scalar function)."""
    ufunc = np.frompyfunc(fn, nargs, 1)

    def call(*args):
        out = ufunc(*args)
        return out.astype(np.float64) if isinstance(out, np.ndarray) else np.float64(out)
    return functools.wraps(fn)(call)


def _pow(a, b):
    return np.float64(a) ** np.float64(b)     # libm's pow, as compiled ``**`` calls it


def _ipow(a, n):
    """powers.ipow without changing ``a`` in place (repeated squaring, same order)."""
    if n > 65536:
        return _sd_pow(a, float(n))
    r = 1.0
    while n != 0:
        if n & 1:
            r = r * a
        n >>= 1
        a = a * a
    return r


def _sign(x):
    """np.sign as Numba compiles it: sign(-0.0) is -0.0, NaN stays."""
    return np.where(x > 0, 1.0, np.where(x < 0, -1.0, x))


def _float(x):
    return np.float64(x)


_SPLIT = 134217729.0     # 2**27 + 1: Dekker's splitting constant


def _split(a):
    """Dekker's split: a = hi + lo, each with at most 26 significant bits."""
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


_TINY = 2.0 ** -900      # below this, the emulation's partial products could underflow


_BLOCK = 8192           # elements per pass: the ~40 temporaries stay in the CPU's caches


def _fma(a, b, c):
    """vmath.fma over arrays (in blocks of ``_BLOCK`` elements, see ``_fma_block``)."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    shape = np.broadcast_shapes(a.shape, b.shape, c.shape)
    size = math.prod(shape)
    if size <= _BLOCK:
        return _fma_block(a, b, c)
    a, b, c = (v.ravel() if v.ndim else v for v in np.broadcast_arrays(a, b, c))
    out = np.empty(size)
    for k in range(0, size, _BLOCK):
        out[k:k + _BLOCK] = _fma_block(*(v[k:k + _BLOCK] for v in (a, b, c)))
    return out.reshape(shape)


def _fma_block(a, b, c):
    """vmath.fma over arrays with the same bits: a*b + c rounded once. Boldo and Melquiond's
    emulation ("Emulation of FMA and correctly rounded sums: proved algorithms using rounding
    to odd", IEEE Trans. Computers 57(4), 2008): a*b = uh + ul exactly (Dekker), c + uh =
    th + tl exactly (TwoSum), then RN(th + RO(tl + ul)), RO the rounding to odd (from
    TwoSum's error and one nextafter). Elements outside its proof's range (overflow, a tiny
    product or result, an exact zero, inf or nan: all make ``out`` non-finite or tiny) take
    vmath.fma's exact rational arithmetic. About 40 array operations."""
    with np.errstate(all="ignore"):
        uh = a * b
        ah, al = _split(a)
        bh, bl = _split(b)
        ul = ((ah * bh - uh) + ah * bl + al * bh) + al * bl
        th = c + uh
        z = th - c
        tl = (c - (th - z)) + (uh - z)
        s = tl + ul
        z = s - tl
        e = (tl - (s - z)) + (ul - z)
        fix = (e != 0) & ((np.asarray(s).view(np.int64) & 1) == 0)
        if np.any(fix):
            s = np.where(fix, np.nextafter(s, np.copysign(np.inf, e)), s)
        out = np.asarray(th + s)
        hard = ~(np.abs(out) >= _TINY) | ~(np.abs(out) < np.inf) | ((uh != 0) & (np.abs(uh) < _TINY))
    if np.any(hard):
        a, b, c, hard = np.broadcast_arrays(a, b, c, hard)
        out = np.array(np.broadcast_to(out, hard.shape), dtype=np.float64)
        out[hard] = [vmath.fma(x, y, z) for x, y, z in zip(a[hard], b[hard], c[hard])]
    return out[()] if out.ndim == 0 else out


def _reduce_fma(x, n, p1, p2, p3):
    """vmath.vreduce_fma over arrays, only where |x| > TRIG_EXACT_LIMIT (its callers use it
    nowhere else; 0.0 there): its three emulated fmas would triple the array tier's sin."""
    x, n = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(n, np.float64))
    out = np.zeros(x.shape)
    big = np.abs(x) > vmath.TRIG_EXACT_LIMIT
    if np.any(big):
        xb, nb = x[big], n[big]
        out[big] = _fma(-nb, p3, _fma(-nb, p2, _fma(-nb, p1, xb)))
    return out[()] if out.ndim == 0 else out


def _scale2(p, k):
    """vmath.scale2 over arrays: p * 2**k rounded once (np.ldexp)."""
    with np.errstate(all="ignore"):
        return np.ldexp(p, np.clip(k, -2**31, 2**31 - 1))


_sd_pow = _elementwise(_pow, 2)
BUILTINS = {"_sd_where": np.where, "_sd_or": np.logical_or, "_sd_and": np.logical_and,
            "_sd_not": np.logical_not, "_sd_float": _float, "_sd_pow": _sd_pow,
            "_sd_ipow": _ipow, "_sd_pow_half": lambda a: np.where(a == -np.inf, np.inf, np.abs(np.sqrt(a))),
            "_sd_square": powers.square, "_sd_reciprocal": powers.reciprocal,
            "_sd_exp2_times": lambda k, x: _elementwise(powers.exp2)(k * x)}


@functools.lru_cache(maxsize=None)
def vmath_arrays():
    """codegen.vmath's functions, rewritten to run over arrays (same operations)."""
    from . import vmath_special
    modules = [(vmath, vmath.PUBLIC_FUNCTIONS + vmath.HELPER_FUNCTIONS),
               (vmath_special, vmath_special.JIT_FUNCTIONS)]
    namespace = {k: v for m, _ in modules for k, v in vars(m).items() if k.isupper()}   # constants
    namespace.update(BUILTINS, np=np, fma=_fma, scale2=_scale2, fminimum=np.minimum, fmaximum=np.maximum)

    def source():
        parts = ['"""codegen.vmath\'s functions, rewritten by codegen.arraytier to run over arrays."""']
        parts += [transform(inspect.getsource(getattr(m, name))) for m, names in modules for name in names]
        return "\n\n".join(parts)
    module = _load("vmath", source, namespace, "vmath")
    module.math = types.SimpleNamespace(copysign=np.copysign, inf=math.inf, nan=math.nan)
    module.vreduce_fma = _reduce_fma
    return vars(module)


def _array_function(namespace, name):
    """An op's function over arrays, as the plain-Python run binds it (``vnumpy``): the C
    library's functions element by element (NumPy's own differ in the last bit), Numba's
    sign, else NumPy's own (the same on arrays as on scalars)."""
    fn = vnumpy._plain_function(namespace, name)
    if name == "sign" and namespace == "np":
        return _sign
    if namespace == "math" or fn is not getattr(np, name, None):
        return _elementwise_any(fn)
    return fn


def _elementwise_any(fn):
    """fn element by element, for any number of arguments."""
    ufuncs = {}

    def call(*args):
        ufunc = ufuncs.get(len(args)) or ufuncs.setdefault(len(args), np.frompyfunc(fn, len(args), 1))
        out = ufunc(*args)
        return out.astype(np.float64) if isinstance(out, np.ndarray) else np.float64(out)
    return functools.wraps(fn)(call)


def _fill(module, space):
    fast = vmath_arrays()
    for where, name, vm in vnumpy.bindings():
        if where == space:
            setattr(module, name, fast[vm] if vm is not None else _array_function(where, name))
    return module


@functools.lru_cache(maxsize=None)
def namespace():
    """The ``np`` an array-tier module sees (the compiled kernels' math, over arrays)."""
    module = types.ModuleType("symdiff_np_arrays", __doc__)
    for attr in vnumpy.PASS_THROUGH:
        setattr(module, attr, getattr(np, attr))
    fast = vmath_arrays()
    for attr, name in vnumpy._HELPER_FAST.items():
        setattr(module, attr, fast[name])
    return _fill(module, "np")


@functools.lru_cache(maxsize=None)
def math_namespace():
    """The ``math`` an array-tier module sees: its functions element by element (as the
    plain-Python run calls them), vmath's where the op table names one."""
    module = types.ModuleType("symdiff_math_arrays", "math over arrays")
    for attr in dir(math):
        if not attr.startswith("_"):
            value = getattr(math, attr)
            setattr(module, attr, _elementwise_any(value) if callable(value) else value)
    return _fill(module, "math")


def scalar_only(source):
    """Functions of ``source`` with statements that branch (``if``, loops): they cannot
    run over arrays as written (helpers such as hypot)."""
    branching = (ast.If, ast.For, ast.While, ast.Try)
    return [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)
            and any(isinstance(inner, branching) for inner in ast.walk(node))]


def array_module(source, plain=None):
    """The kernel module ``source`` (``kernels.module_source``) run over arrays: its
    ``value``/``value_and_grad`` take arrays and scalars (NumPy broadcasting) and return
    arrays or scalars. Call them under ``np.errstate(all="ignore")``. Functions that branch
    run element by element, as ``plain`` (the plain-Python module of the same source)
    runs them."""
    module = _load(source, lambda: transform(source), BUILTINS, "arrays",
                   {"np": namespace(), "math": math_namespace()})
    vnumpy.bind_helpers(module, vmath_arrays())
    for name in scalar_only(source):
        if name in ("value", "value_and_grad") or plain is None:
            raise ValueError(f"{name} branches: it cannot run over arrays")
        scalar = getattr(plain, name)
        setattr(module, name, _elementwise_any(lambda *args, fn=scalar: fn(*map(np.float64, args))))
    return module
