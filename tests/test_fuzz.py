"""Parser fuzzing: every input either differentiates or raises FormulaError.

Any other exception, a hang, or a side effect (a file written, a module imported, a
process started) is a failure. The default profile runs a few hundred examples per
strategy; ``HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py`` runs 10,000 each."""
import builtins
import contextlib
import os
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import symdiff
import symdiff.functions
from symdiff import FormulaError

FUNCTIONS = sorted(symdiff.functions.FUNCTIONS)     # every function of the operation table
DANGEROUS = ["__import__", "os", "system", "eval", "exec", "open", "__class__", "__bases__",
             "__subclasses__", "__builtins__", "__globals__", "globals", "locals", "getattr",
             "compile", "breakpoint", "input", "print", "lambda", "import", "from", "def",
             "class", "yield", "await", "async", "with", "del", "global", "nonlocal", "np",
             "numba", "math", "prange", "None", "True", "False", "self", "__dict__", "__doc__"]
PIECES = (FUNCTIONS + DANGEROUS + ["x", "y", "a", "b", "q", "e", "pi", "w1", "x_2", "é", "ﬁ",
          "0", "1", "2.5e-3", ".5", "1e309", "1e-400", "007", "3.", "1_000", "0x1f", "1j",
          "+", "-", "*", "/", "**", "(", ")", ",", ";", "=", "+=", "-=", "*=", "/=", "**=",
          "\n", " ", "\t", "\\\n", "#", ".", "[", "]", "{", "}", ":", "'", '"', "f'{x}'", "%",
          "//", "@", "^", "<", ">", "==", "!", "~", "&", "|", "$", "?", "`", "\x00", "\u2212",
          "\u00a0", "\ufeff", "\r\n", "..."])

INJECTIONS = [
    "__import__('os').system('touch pwned')",
    "__import__(\"os\").system(\"touch pwned\")",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__mro__",
    "open('pwned', 'w').write('x')",
    "eval('1+1')", "exec('import os')",
    "globals()['__builtins__']",
    "f'{__import__(\"os\").system(\"id\")}'",
    "'%s' % x", "'{}'.format(x)",
    "lambda: __import__('os')",
    "[c for c in ().__class__.__bases__]",
    "__builtins__", "__builtins__ + 1", "x = __builtins__",
    "import os; os.system('id')",
    "x; import os",
    "breakpoint()", "input()", "print(x)",
    "sigmoid(x).__globals__",
    "exp(x)(y)", "exp(exp)", "exp", "exp = 1",
    "np.exp(x)", "math.exp(x)", "numba.njit",
    "\x00", "\ufeffx", "x\u2028y",
]


class _SideEffects:
    """While active, record any attempt of a formula to act on the world. Only the thread
    that parses is watched: a background compile of an earlier test's kernel (codegen's
    tiers) imports and writes its cache in its own thread, which is not the formula's doing."""

    def __init__(self):
        self.events = []
        self.owner = None
        real_open = builtins.open
        record = self.events.append

        def watched(real, event):
            def wrapper(*args, **kwargs):
                if threading.get_ident() != self.owner:
                    return real(*args, **kwargs)
                return event(real, *args, **kwargs)
            return wrapper

        def guarded_open(real, file, mode="r", *args, **kwargs):
            if any(m in mode for m in "wax+") and not str(file).startswith(os.environ["SYMDIFF_CACHE_DIR"]):
                record(("open", file, mode))
            return real(file, mode, *args, **kwargs)

        def guarded_import(real, name, *args, **kwargs):
            if name.split(".")[0] not in sys.modules:
                record(("import", name))
            return real(name, *args, **kwargs)

        def refused(kind):
            return lambda real, *a, **k: record((kind, a))

        self.patches = [(builtins, "open", watched(real_open, guarded_open)),
                        (os, "system", watched(os.system, refused("system"))),
                        (subprocess, "Popen", watched(subprocess.Popen, refused("popen"))),
                        (builtins, "eval", watched(builtins.eval, refused("eval"))),
                        (builtins, "exec", watched(builtins.exec, refused("exec"))),
                        (builtins, "__import__", watched(builtins.__import__, guarded_import))]

    @contextlib.contextmanager
    def active(self):
        saved = [(obj, name, getattr(obj, name)) for obj, name, _ in self.patches]
        self.owner = threading.get_ident()
        for obj, name, value in self.patches:
            setattr(obj, name, value)
        try:
            yield
        finally:
            for obj, name, value in saved:
                setattr(obj, name, value)
            self.owner = None


@pytest.fixture
def guard(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    symdiff.differentiate("sin(x)*y").source   # warm imports before watching sys.modules
    from codegen import background             # an earlier test's kernel may still be compiling:
    assert background.wait_idle(timeout=300)   # its modules are not this formula's doing
    return _SideEffects(), tmp_path


def _attempt(text, guard):
    effects, cwd = guard
    modules = set(sys.modules)
    start = time.perf_counter()
    try:
        with effects.active():
            d = symdiff.differentiate(text)
            source = d.source
    except FormulaError as err:
        assert isinstance(err, ValueError)
        assert err.line is None or (err.line >= 1 and err.column >= 1)
        d = None
    elapsed = time.perf_counter() - start
    assert elapsed < 20, f"took {elapsed:.1f} s"
    assert effects.events == []
    assert set(sys.modules) - modules == set()
    assert list(cwd.iterdir()) == []
    if d is not None:
        compile(source, "<generated>", "exec")     # generated source is valid Python
    return d


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_attempts_are_refused(text, guard):
    d = _attempt(text, guard)
    assert d is None


random_text = st.text(max_size=200)
token_soup = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
token_soup_spaced = st.lists(st.sampled_from(PIECES), max_size=40).map(" ".join)
raw_bytes = st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape"))
deep = st.tuples(st.integers(0, 12000), st.sampled_from(["(", "sin(", "-(", "exp("]),
                 st.sampled_from(["x", "", "x+"]), st.integers(-2, 2)).map(
    lambda t: t[1] * t[0] + t[2] + ")" * max(0, t[0] + t[3]))
long_sums = st.tuples(st.integers(1, 5000), st.sampled_from(["+", "*", "-", "/", "**", ","])).map(
    lambda t: t[1].join(f"x{i % 97}" for i in range(t[0])))

FUZZ = settings(suppress_health_check=list(HealthCheck), deadline=None)


@FUZZ
@given(text=st.one_of(random_text, token_soup, token_soup_spaced, raw_bytes))
def test_random_text_differentiates_or_raises_formula_error(text, guard):
    _attempt(text, guard)


@FUZZ
@given(text=st.one_of(deep, long_sums))
def test_deep_and_long_inputs(text, guard):
    _attempt(text, guard)


def test_non_text_inputs_raise_formula_error():
    for bad in [b"x + 1", None, 3.5, ["x"], {"x": 1}, object()]:
        with pytest.raises(FormulaError):
            symdiff.differentiate(bad)
