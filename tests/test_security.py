"""Hostile-user regression tests (issue 13): nothing a user types or loads executes, and
nothing comes back silently wrong. Each test replays a reported attack or failure.

Tests that depend on process state (the cache directory, fork, the import system) run in
fresh processes with their own cache directories.
"""
import ast
import io
import json
import math
import os
import stat
import subprocess
import sys
import textwrap
import threading
import zipfile

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import FormulaError
from symdiff.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_fresh(script, cache, timeout=180, **env):
    """Run ``script`` in a new Python process with its own kernel cache directory."""
    environ = dict(os.environ, SYMDIFF_CACHE_DIR=str(cache), PYTHONPATH=ROOT, **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=environ, text=True,
                          capture_output=True, timeout=timeout)


PAYLOAD = "import os; open({marker!r}, 'w').write('pwned')"


def payloads(marker):
    code = PAYLOAD.format(marker=str(marker))
    return [f"tanh(x) # \r{code}\rdef _q():  #",        # \r is a line break to Python
            f"tanh(x) # \x00 {code}",
            f"tanh(x) # \ud800 {code}",                   # lone surrogate: cannot be written
            f"tanh(x) # \u2028{code}",
            f"tanh(x) # \u202e{code}",                    # bidi override (Trojan Source)
            f"tanh(x) # \x0b{code}",
            f"tanh(x) # \x1b[2J{code}"]


# -- High 1: trainer text ------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["activation", "output_activation", "loss", "lr"])
def test_trainer_text_with_control_characters_is_refused(what, tmp_path):
    marker = tmp_path / "pwned"
    for text in payloads(marker):
        if what == "loss":
            text = text.replace("tanh(x)", "(s - y)**2")
        if what == "lr":
            text = text.replace("tanh(x)", "0.1 + 0*step")
        with pytest.raises(FormulaError, match="control character"):
            symdiff.mlp_trainer([2, 3, 1], **{what: text}, verbose=False)
    assert not marker.exists()


@pytest.mark.parametrize("comment", ['# ZQX """', "# ZQX \\", "# ZQX '", '# ZQX "', "# ZQX \\\\n", "# ZQX ${x}"])
def test_only_the_reprinted_formula_reaches_trainer_source(comment):
    t = symdiff.mlp_trainer([2, 3, 1], activation=f"x*sigmoid(x) {comment}",
                            output_activation=f"x {comment}", loss=f"(s - y)**2 {comment}",
                            lr=f"1.0 - 0.9*step/steps {comment}", verbose=False)
    source = t.source
    ast.parse(source)   # the module is valid Python
    assert "ZQX" not in source
    assert "x*sigmoid(x)" in source and "1.0 - 0.9*step/steps" in source
    assert t.config.hidden.name == "x*sigmoid(x)" and t.config.lr.text == "1.0 - 0.9*step/steps"


def test_formula_text_control_characters_are_formula_errors_everywhere():
    for text in ["x*y # \r import os", "x*y\x00", "x # \ud800", "x\u2028+y", "x*y # \x1b[31m",
                 "x # \u202e", "x +\x0c\x0b y"]:
        with pytest.raises(FormulaError, match="control character") as info:
            symdiff.differentiate(text)
        str(info.value).encode("utf-8")   # the message itself is printable
        assert "\x1b" not in str(info.value) and "\r" not in str(info.value)
    windows = "q = x*y # Windows line end\r\nq + 1"   # \r\n is a line end, not a control character
    assert symdiff.differentiate(windows)(x=2.0, y=3.0)[0] == 7.0


def _save(t, path, edit=None, drop=(), arrays=None):
    """Save ``t`` to path, then rewrite the file with its settings edited / arrays replaced."""
    t.save(path)
    with np.load(path) as data:
        content = {k: data[k] for k in data.files}
    meta = json.loads(str(content["symdiff_trainer"]))
    if edit:
        edit(meta)
    content["symdiff_trainer"] = np.array(json.dumps(meta))
    content.update(arrays or {})
    for k in drop:
        content.pop(k)
    with open(path, "wb") as f:
        np.savez(f, **content)
    return path


def test_saved_trainer_with_hostile_settings_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    t = symdiff.mlp_trainer([2, 3, 1], verbose=False)
    for k, text in enumerate(payloads(marker)):
        for key, formula in (("activation", "tanh(x)"), ("loss", "(s - y)**2"), ("lr", "0.1 + 0*step")):
            body = text.replace("tanh(x)", formula)
            path = _save(t, tmp_path / f"t{k}{key}.npz", edit=lambda m: m["settings"].__setitem__(key, body))
            with pytest.raises(FormulaError, match="control character"):
                symdiff.load_trainer(path)
    assert not marker.exists()


# -- High 2 and Low: load_trainer on hostile or broken files ----------------------------------------
@pytest.fixture(scope="module")
def adam_trainer():
    return symdiff.mlp_trainer([2, 4, 1], optimizer="adam", verbose=False)


def test_undersized_optimizer_state_is_refused_at_load(adam_trainer, tmp_path):
    for bad in (np.zeros(1), np.zeros((4, 1)), np.zeros((2, 4)), np.zeros((4, 2), np.int64),
                np.zeros((4, 2), np.complex128), np.full((4, 2), np.nan), np.array("x")):
        path = _save(adam_trainer, tmp_path / "t.npz", arrays={"state_1_0": bad})
        with pytest.raises(FormulaError, match="state_1_0"):
            symdiff.load_trainer(path)
    path = _save(adam_trainer, tmp_path / "t.npz", drop=["state_0_3"])
    with pytest.raises(FormulaError, match="state_0_3"):
        symdiff.load_trainer(path)
    path = _save(adam_trainer, tmp_path / "t.npz", arrays={"state_2_0": np.zeros((4, 2))})
    with pytest.raises(FormulaError, match="unexpected array 'state_2_0'"):
        symdiff.load_trainer(path)


def test_broken_trainer_files_are_formula_errors(adam_trainer, tmp_path):
    good = adam_trainer.save(tmp_path / "good.npz")
    raw = open(good, "rb").read()
    cases = {"empty": b"", "truncated": raw[: len(raw) // 2], "garbage": b"PK\x03\x04" + b"\x00" * 100,
             "text": b"hello"}
    for name, content in cases.items():
        (tmp_path / f"{name}.npz").write_bytes(content)
    np.save(tmp_path / "single.npy", np.zeros(3))
    for name in [*cases, "single"]:
        path = tmp_path / (f"{name}.npz" if name != "single" else "single.npy")
        with pytest.raises(FormulaError):
            symdiff.load_trainer(path)
    edits = {"no settings": lambda m: m.pop("settings"), "settings not a dict": lambda m: m.update(settings=[1]),
             "unknown setting": lambda m: m["settings"].update(evil=1),
             "missing setting": lambda m: m["settings"].pop("loss"),
             "verbose twice": lambda m: m["settings"].update(verbose=True),
             "bad steps": lambda m: m.update(steps_done=-1), "bad shuffle": lambda m: m.update(shuffle={"a": 1}),
             "huge sizes": lambda m: m["settings"].update(sizes=[10**9, 10**9]),
             "huge steps_done": lambda m: m.update(steps_done=10**30),
             "nan lr": lambda m: m["settings"].update(lr=float("nan")),
             "deep json": lambda m: m["settings"].update(loss=[[[[[[]]]]]]),
             "other sizes": lambda m: m["settings"].update(sizes=[2, 5, 1])}
    for name, edit in edits.items():
        path = _save(adam_trainer, tmp_path / "e.npz", edit=edit)
        with pytest.raises(FormulaError):
            symdiff.load_trainer(path)
    for key, message in (("symdiff_trainer", "settings"), ("param_3", "3 parameter arrays"),
                         ("state_1_2", "state_1_2")):
        with pytest.raises(FormulaError, match=message):
            symdiff.load_trainer(_save(adam_trainer, tmp_path / "m.npz", drop=[key]))
    with pytest.raises(FormulaError, match="cannot read"):
        symdiff.load_trainer(tmp_path / "missing.npz")
    deep = tmp_path / "deep.npz"   # settings JSON nested past the recursion limit
    np.savez(deep, symdiff_trainer=np.array("[" * 20000 + "]" * 20000))
    with pytest.raises(FormulaError):
        symdiff.load_trainer(deep)


def test_cli_data_files_that_are_not_data_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04junk")
    (tmp_path / "bad.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    np.savez(tmp_path / "text.npz", X=np.array(["a", "b"]), y=np.array([1, 2]))
    for name in ("bad.npz", "bad.csv", "text.npz"):
        code, out, err = _cli(capsys, "mlp", "--sizes", "2,3,1", "--data", str(tmp_path / name))
        assert code == 2 and "cannot read" in err and len(err.strip().splitlines()) == 1, err


def test_absurd_sizes_are_refused_before_allocating(tmp_path):
    """A file whose array headers declare [30000, 30000, 1] (6.7 GiB) but hold no data."""
    t = symdiff.mlp_trainer([2, 2, 1], verbose=False)
    meta = dict(settings=dict(t.settings, sizes=[30000, 30000, 1]), steps_done=0,
                shuffle=t._shuffle.bit_generator.state, format=1)
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for k, shape in enumerate([(30000, 30000), (30000,), (1, 30000), (1,)]):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
            zf.writestr(f"param_{k}.npy", header.getvalue())
        buf = io.BytesIO()
        np.save(buf, np.array(json.dumps(meta)))
        zf.writestr("symdiff_trainer.npy", buf.getvalue())
    with pytest.raises(FormulaError, match="limit"):
        symdiff.load_trainer(path)


def test_load_trainer_keeps_verbose_false(tmp_path):
    t = symdiff.mlp_trainer([2, 3, 1], verbose=False)
    assert symdiff.load_trainer(t.save(tmp_path / "q.npz")).verbose is False
    assert symdiff.load_trainer(tmp_path / "q.npz", verbose=True).verbose is True


# -- Medium 3: the cache directory --------------------------------------------------------------------
LOAD = """
import warnings, codegen.cache as c
warnings.simplefilter("always")
m = c.load("X = 1\\n")
print(m.X, c._fallback_dir, c.cache_dir())
"""


def test_cache_directory_is_private(tmp_path):
    cache = tmp_path / "new" / "cache"
    done = run_fresh(LOAD, cache)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert done.stdout.split()[:2] == ["1", "None"]


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770])
def test_group_or_world_writable_cache_is_refused_and_fallback_removed(tmp_path, mode):
    cache = tmp_path / "shared"
    cache.mkdir()
    os.chmod(cache, mode)
    done = run_fresh(LOAD, cache)
    assert done.returncode == 0, done.stderr
    assert "not usable" in done.stderr and "others may write" in done.stderr
    value, fallback, _ = done.stdout.split()
    assert value == "1" and fallback != "None"
    assert not os.path.exists(fallback)          # removed when the process exited
    assert os.listdir(cache) == []               # nothing written into the shared directory


def test_cache_with_a_shared_pycache_is_refused(tmp_path):
    cache = tmp_path / "cache"
    (cache / "__pycache__").mkdir(parents=True)
    os.chmod(cache, 0o700)
    os.chmod(cache / "__pycache__", 0o777)
    done = run_fresh(LOAD, cache)
    assert done.returncode == 0, done.stderr
    assert "__pycache__ is not private" in done.stderr and done.stdout.split()[1] != "None"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_cache_owned_by_another_user_is_refused(tmp_path):
    cache = tmp_path / "theirs"
    cache.mkdir(mode=0o700)
    os.chown(cache, 65534, 65534)
    done = run_fresh(LOAD, cache)
    assert done.returncode == 0, done.stderr
    assert "belongs to user id 65534" in done.stderr


def test_planted_pyc_in_pycache_is_never_run(tmp_path):
    """The .py text is verified and itself executed: an unchecked-hash .pyc beside it is ignored."""
    import importlib.util
    import py_compile
    cache = tmp_path / "cache"
    assert run_fresh(LOAD, cache).returncode == 0
    [module] = [p for p in os.listdir(cache) if p.endswith(".py")]
    path = cache / module
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.py"
    evil.write_text(PAYLOAD.format(marker=str(marker)) + "\nX = 2\n")
    py_compile.compile(str(evil), cfile=importlib.util.cache_from_source(str(path)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    done = run_fresh(LOAD, cache)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "1" and not marker.exists()


# -- Medium 4: NFKC names -----------------------------------------------------------------------------
def test_nfkc_sympy_names_give_right_values():
    x, y = sympy.symbols("x y")
    t1 = sympy.Symbol("ｔ1")   # fullwidth t: Python reads it as t1, which the program also uses
    expr = sympy.sin(x * y) * t1 + sympy.cos(x + y)
    d = symdiff.differentiate(expr)
    point = {"x": 0.3, "y": 0.7, "t1": 1.1}
    ref = float(expr.subs({x: 0.3, y: 0.7, t1: 1.1}))
    value, grad = d(**point)
    assert value == pytest.approx(ref, rel=1e-14)
    assert grad["t1"] == pytest.approx(float(sympy.sin(0.3 * 0.7)), rel=1e-14)
    assert d(**{"ｔ1": 1.1, "x": 0.3, "y": 0.7})[0] == value   # as Python reads d(ｔ1=1.1)
    assert symdiff.differentiate(expr, wrt="ｔ1").wrt == ("t1",)
    arrays = d(x=np.full(3, 0.3), y=0.7, t1=1.1)[0]
    np.testing.assert_allclose(arrays, ref, rtol=1e-14)


def test_names_equal_after_nfkc_are_refused():
    x = sympy.Symbol("x")
    with pytest.raises(FormulaError, match="same name"):
        symdiff.differentiate(x * sympy.Symbol("ｘ"))
    with pytest.raises(FormulaError, match="two different SymPy symbols"):
        symdiff.differentiate(x * sympy.Symbol("x", positive=True))
    import inspect

    def f(a, b):
        return a * b
    P = inspect.Parameter
    f.__signature__ = inspect.Signature([P("ｘ", P.POSITIONAL_OR_KEYWORD), P("x", P.POSITIONAL_OR_KEYWORD)])
    with pytest.raises(FormulaError, match="same name"):
        symdiff.differentiate(f)


# -- Medium 5: argument checking is linear ------------------------------------------------------------
def test_many_inputs_are_checked_once_each():
    """Membership goes through a set (was a tuple: 40,000 inputs took 10-27 s per call;
    benchmarks/many_inputs.py measures it). Here: unknown, missing and good calls all work."""
    n = 3000
    d = symdiff.differentiate(" + ".join(f"x{i}*x{i}" for i in range(n)))
    args = {f"x{i}": 1.0 for i in range(n)}
    assert len(d._arguments(args)) == n
    with pytest.raises(FormulaError, match="unknown input 'q'"):
        d._arguments(dict(args, q=1.0))
    with pytest.raises(FormulaError, match="missing input 'x7'"):
        d._arguments({k: v for k, v in args.items() if k != "x7"})


# -- Medium 6: fork after prange -----------------------------------------------------------------------
FORK = """
import multiprocessing as mp, numpy as np, symdiff
d = symdiff.differentiate("sin(x)*y")
big = 1 << 17
d(x=np.ones(big), y=np.ones(big))            # a parallel (prange) loop: threads started
t = symdiff.differentiate("cos(x)*y", kernel="tape")
t(x=np.ones(big), y=np.ones(big))

def work(k):
    x = np.full(big, float(k))
    return float(d(x=x, y=1.0)[0].sum()), float(t(x=x, y=1.0)[0].sum())

if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:
        print(pool.map_async(work, range(3)).get(timeout=120))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_fork_pool_after_parallel_call_does_not_hang(tmp_path):
    script = tmp_path / "fork_pool.py"
    script.write_text(FORK)
    env = dict(os.environ, PYTHONPATH=ROOT)   # the session's cache: the tape compiles once
    done = subprocess.run([sys.executable, str(script)], env=env, text=True, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = ast.literal_eval(done.stdout.strip())
    big = 1 << 17
    expected = [(np.sin(float(k)) * big, np.cos(float(k)) * big) for k in range(3)]
    np.testing.assert_allclose(result, expected, rtol=1e-9)


# -- Medium 7 and Low: CLI output paths and errors -------------------------------------------------------
def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_output_writes_through_symlinks_and_fifos(tmp_path, capsys):
    real = tmp_path / "real.py"
    real.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert _cli(capsys, "grad", "x*y", "-o", str(link))[0] == 0
    assert link.is_symlink() and "def value_and_grad" in real.read_text()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    assert _cli(capsys, "grad", "x*y", "-o", str(fifo))[0] == 0
    reader.join(30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and "def value_and_grad" in got[0]
    assert sorted(os.listdir(tmp_path)) == ["fifo", "link.py", "real.py"]   # no *.tmp left over


@pytest.mark.parametrize("argv, message", [
    (["grad", "x*y", "-o", "{tmp}"], "is a directory"),
    (["grad", "x*y", "-o", "{tmp}/missing/dir/f.py"], "does not exist"),
    (["mlp", "--sizes", "2,3,1", "--data", "xor", "--save", "{tmp}"], "is a directory"),
    (["mlp", "--sizes", "2,3,1", "--data", "xor", "--source", "{tmp}"], "is a directory"),
    (["mlp", "--sizes", "2,3,1", "--data", "xor", "--export", "{tmp}/no/x.py"], "does not exist"),
    (["stats", "x*y", "--time-limit", "1e10"], "--time-limit"),
    (["stats", "x*y", "--time-limit", "nan"], "--time-limit"),
    (["grad", "x # \r import os"], "control character"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    code, out, err = _cli(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_failed_writes_keep_the_old_file_and_leave_no_temporary(tmp_path, monkeypatch):
    t = symdiff.mlp_trainer([2, 3, 1], verbose=False)
    saved, exported = t.save(tmp_path / "t.npz"), t.export(tmp_path / "t.py")
    before = {p: open(p, "rb").read() for p in (saved, exported)}

    def full_disk(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    for write, path in ((t.save, saved), (t.export, exported)):
        with pytest.raises(FormulaError, match="No space left"):
            write(path)
        assert open(path, "rb").read() == before[path]
    d = symdiff.differentiate("x*y")
    with pytest.raises(FormulaError, match="No space left"):
        d.export(tmp_path / "d.py")
    assert sorted(os.listdir(tmp_path)) == ["t.npz", "t.py"]


# -- Low: names, big integers, long names, masked arrays ------------------------------------------------
@pytest.mark.parametrize("name", ["range", "value", "value_and_grad", "maximum", "grad_ploop"])
def test_text_inputs_named_like_generated_code_work(name):
    """They are renamed in the generated code (range_) and keep their name for the user."""
    d = symdiff.differentiate(f"q = {name}*x + max(x, 1); q*{name}")
    x = np.array([0.5, 2.0])
    value, grad = d(**{name: 3.0, "x": x})          # an array call: the compiled loops
    np.testing.assert_allclose(value, (3.0 * x + np.maximum(x, 1)) * 3.0)
    np.testing.assert_allclose(grad[name], 2 * 3.0 * x + np.maximum(x, 1))
    assert d(**{name: 3.0, "x": 0.5}) == d(**{name: 3.0, "x": 0.5})   # plain Python, then kernel
    compile(d.source, "source", "exec")


@pytest.mark.parametrize("name", ["local_zeros", "value_and_grad_at", "stream_copy"])
def test_inputs_named_like_the_fused_sum_and_blocked_loop_helpers_work(name):
    """Module-level functions of the reduce and blocked modules: an input of that name was
    a parameter shadowing the function (a Numba typing error in ``reduce="sum"``)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(5000)
    d = symdiff.differentiate(f"{name}*x + sigmoid(x*{name})", reduce="sum")
    per = symdiff.differentiate(f"{name}*x + sigmoid(x*{name})")
    value, grad = d(**{name: 0.7, "x": x})
    v, g = per(**{name: 0.7, "x": x})
    assert value == pytest.approx(math.fsum(v), rel=1e-13)
    assert grad[name] == pytest.approx(math.fsum(g[name]), rel=1e-12)
    np.testing.assert_array_equal(grad["x"], g["x"])
    if name == "stream_copy":   # a helper of the blocked loops (15 results), not of the sums
        h = symdiff.hessian(f"{name}*x*y + x*y*z*w + sin(x*{name})")
        rows = h(**{name: 0.7, "x": x, "y": x, "z": 1.0, "w": 2.0})
        assert np.all(np.isfinite(rows[0]))


@pytest.mark.parametrize("name", ["np", "prange", "_sd_pow", "lambda", "None"])
def test_text_inputs_spelled_like_code_are_refused(name):
    with pytest.raises(FormulaError):
        symdiff.differentiate(f"{name}*x")


SYMBOLS = ["lambda", "if", "None", "True", "np", "sigmoid", "_sd_pow", "range", "value", "__x", "x_"]


def test_sympy_symbols_named_like_code_work(tmp_path):
    """A SymPy symbol may be named anything Python can name: keywords and names generated
    code uses are printed renamed (lambda_), computed right, and keyed by the user's name."""
    x = sympy.Symbol("x")
    symbols = [sympy.Symbol(n) for n in SYMBOLS]
    expr = sum((k + 1) * sympy.sin(s * x) + sympy.exp(s) / (k + 2) for k, s in enumerate(symbols))
    d = symdiff.differentiate(expr)
    point = {n: 0.1 * (k + 1) for k, n in enumerate(SYMBOLS)}
    xs = np.array([0.3, -1.2])
    ref = sympy.lambdify([x, *symbols], [expr] + [sympy.diff(expr, s) for s in [x, *symbols]])
    want = ref(xs, *point.values())
    value, grad = d(x=xs, **point)
    np.testing.assert_allclose(value, want[0], rtol=1e-13)
    for k, n in enumerate(["x", *SYMBOLS]):
        np.testing.assert_allclose(grad[n], want[k + 1], rtol=1e-13, err_msg=n)
    for _ in range(2):   # plain Python, then the compiled scalar kernel
        v, g = d(x=0.3, **point)
        assert v == pytest.approx(float(want[0][0]), rel=1e-13) and set(g) == {"x", *SYMBOLS}
    compile(d.source, "source", "exec")
    d.export(tmp_path / "exported.py")
    compile((tmp_path / "exported.py").read_text(), "exported", "exec")


@pytest.mark.parametrize("name", ["a b", "a\nb", "x\x00", "1x", ""])
def test_sympy_symbols_that_are_not_names_are_refused(name):
    with pytest.raises(FormulaError, match="not a valid name|control character"):
        symdiff.differentiate(sympy.Symbol(name) * sympy.Symbol("x"))


def test_big_integers_become_floats_or_formula_errors():
    x = sympy.Symbol("x")
    with pytest.raises(FormulaError, match="too large for a float64"):
        symdiff.differentiate(sympy.Integer(10**400) * x)
    d = symdiff.differentiate(sympy.Integer(2**70) * x)
    assert d(x=1.5) == (1.5 * 2.0**70, {"x": 2.0**70})
    traced = symdiff.differentiate(lambda x: x + 2**70)
    np.testing.assert_array_equal(traced(x=np.ones(3))[0], np.ones(3) + 2.0**70)   # compiled
    assert symdiff.differentiate("1" * 5000 + "*x")(x=1.0) == (np.inf, {"x": np.inf})


def test_five_thousand_character_names_work():
    a, b = "a" * 5000, "b" * 3000
    d = symdiff.differentiate(f"q = {a}*y + sin({b}); {a}*q")
    values, grad = d(**{a: np.array([1.0, 2.0]), "y": 3.0, b: np.zeros(2)})
    np.testing.assert_allclose(values, [3.0, 12.0])
    np.testing.assert_allclose(grad[a], [6.0, 12.0])
    assert a in d.source   # the readable source keeps the user's name


def test_masked_arrays_are_refused():
    d = symdiff.differentiate("x*y")
    masked = np.ma.array([1.0, 2.0], mask=[0, 1])
    with pytest.raises(FormulaError, match="masked array"):
        d(x=masked, y=1.0)
    with pytest.raises(FormulaError, match="masked array"):
        symdiff.check(d, x=np.ma.array(1.0, mask=True), y=1.0)
    t = symdiff.mlp_trainer([1, 2, 1], verbose=False)
    for X, y in ((masked, np.ones(2)), (np.ones(2), masked)):
        with pytest.raises(FormulaError, match="masked array"):
            t.loss_and_grads(X, y, python=True)


def test_hinge_reads_zero_one_labels_like_the_cli():
    t = symdiff.mlp_trainer([2, 3, 1], loss="hinge", verbose=False)
    X = np.array([[0.0, 1.0], [1.0, 0.5], [-1.0, 2.0]])
    labels = np.array([0.0, 1.0, 0.0])
    loss01, grads01 = t.loss_and_grads(X, labels, python=True)
    loss_pm, grads_pm = t.loss_and_grads(X, 2 * labels - 1, python=True)
    assert loss01 == loss_pm
    from symdiff.cli_mlp import _targets
    np.testing.assert_array_equal(_targets(labels, False, "hinge", 1), labels)   # one conversion: the trainer's


def test_exported_modules_hold_no_formula_comment_text(tmp_path):
    """Comments of formula text are not code: exports and kernels leave them out, and a
    quote or backslash in them cannot end a docstring early."""
    d = symdiff.differentiate('q = x*y  # ZQX """ \\\nq + 1  # ZQX \\')
    path = d.export(tmp_path / "exported.py")
    text = open(path, encoding="utf-8").read()
    compile(text, "exported", "exec")
    assert [line for line in text.splitlines() if "ZQX" in line] == \
        [f"__formula__ = {d.formula!r}"]   # the formula text only as a repr'd string
    assert "ZQX" not in d.source
    from codegen.kernels import module_source
    assert "ZQX" not in module_source(d.program)
