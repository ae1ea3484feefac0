"""The trainer's NumPy tier (codegen.mlp_numpy) and its hand-over to the compiled trainer.

- the NumPy tier against the generated loop module run as plain Python (no compile) for
  every optimizer, loss kind, activation formula, L2 and reduction: losses to 1e-12
  relative, parameters close (the products and sums run in another order: not bit for bit);
- the same against the compiled trainer, and a fit that switches tiers part way through
  (same step numbers, learning rates and minibatches as a fit run compiled throughout);
- the progress reports (loss and accuracy) on the NumPy tier;
- SYMDIFF_TIERS=off, and a process that exits while its trainer compiles in the background.
"""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import symdiff
from symdiff import datasets
from symdiff.trainer_tiers import TrainerTiers
from codegen import background

CONFIGS = [
    dict(sizes=[2, 5, 4, 1], activation="relu", loss="hinge", l2=1e-3, lr="1.0 - 0.9*step/steps"),
    dict(sizes=[3, 4, 3], activation="x*sigmoid(x)", loss="softmax_ce", optimizer="adam", lr=0.05,
         batch_size=8),
    dict(sizes=[2, 4, 2], activation="tanh", output_activation="sigmoid", loss="mse",
         optimizer="momentum", l2=1e-2, l2_weights_only=True, reduction="sum", lr=0.05),
    dict(sizes=[2, 3, 3, 1], activation="linear", loss="log(1 + exp(-y*s))", lr=0.3, init="he",
         batch_size=5),
    dict(sizes=[1, 4, 1], activation="sigmoid", output_activation="x", loss="(s - y)**2 + 0.1*s",
         lr=0.1),
    pytest.param(dict(sizes=[3, 5, 3], activation="tanh", loss="softmax_ce", blas=True,
                      optimizer="momentum", lr=0.05, batch_size=8),
                 marks=pytest.mark.skipif(importlib.util.find_spec("scipy") is None,
                                          reason="BLAS layers need SciPy (the optional extra 'blas')")),
]


def _data(sizes, loss, n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "softmax_ce":
        return X, rng.integers(0, sizes[-1], n)
    if loss in ("hinge", "log(1 + exp(-y*s))"):
        return X, np.where(X[:, :1] + 0.3 * X[:, -1:] > 0, 1.0, -1.0).repeat(sizes[-1], 1)
    return X, rng.normal(size=(n, sizes[-1]))


def _numpy_only(monkeypatch):
    """Every fit runs the NumPy tier to its end (the compiled trainer is never ready)."""
    monkeypatch.setattr(TrainerTiers, "ready", lambda self, key: False)
    monkeypatch.setattr(TrainerTiers, "queue", lambda self, key, args: None)


def _pair(cfg):
    kw = dict(cfg)
    sizes = kw.pop("sizes")
    a = symdiff.mlp_trainer(sizes, seed=3, verbose=False, **kw)
    b = symdiff.mlp_trainer(sizes, seed=3, verbose=False, **kw)
    return a, b


def _close(a, b):
    for (Wa, ba), (Wb, bb) in zip(a.params, b.params):
        np.testing.assert_allclose(Wa, Wb, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(ba, bb, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c['loss']}-{c.get('optimizer', 'sgd')}"
                         + ("-blas" if c.get("blas") else ""))
def test_numpy_tier_matches_the_plain_python_loops(cfg, monkeypatch):
    _numpy_only(monkeypatch)
    a, b = _pair(cfg)
    b._module = b.python
    X, y = _data(cfg["sizes"], cfg["loss"])
    for steps in (7, 5):   # a second fit continues (Adam's step count, the shuffles)
        la, lb = a.fit(X, y, steps), b.fit(X, y, steps)
        np.testing.assert_allclose(la, lb, rtol=1e-12)
    _close(a, b)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10, atol=1e-13)
    assert a._tiers._compiled is None and a.steps_done == b.steps_done == 12


@pytest.fixture(scope="module")
def compiled_pair():
    cfg = CONFIGS[1]
    assert cfg["loss"] == "softmax_ce"
    a, b = _pair(cfg)
    b.compile()   # waits for the compiled trainer
    return cfg, a, b


def test_numpy_tier_matches_the_compiled_trainer(compiled_pair, monkeypatch):
    cfg, a, b = compiled_pair
    a, b = _pair(cfg)
    b._module = compiled_pair[2].module
    _numpy_only(monkeypatch)
    X, y = _data(cfg["sizes"], cfg["loss"], n=40)
    np.testing.assert_allclose(a.fit(X, y, 12), b.fit(X, y, 12), rtol=1e-12)
    _close(a, b)


def test_fit_switches_to_the_compiled_trainer_part_way(compiled_pair, monkeypatch):
    cfg = compiled_pair[0]
    a, b = _pair(dict(cfg, lr="0.1 - 0.09*step/steps"))
    b.compile()
    calls = []

    def ready(self, key):   # ready from the 4th question on: steps 0-2 on NumPy, then compiled
        calls.append(key)
        return len(calls) > 3
    monkeypatch.setattr(TrainerTiers, "ready", ready)
    a._tiers._jobs = dict(b._tiers._jobs)     # the finished compile, as if it was a's
    X, y = _data(cfg["sizes"], cfg["loss"], n=40)
    losses = a.fit(X, y, 20)
    assert a._tiers._compiled is b.module     # the rest ran compiled
    np.testing.assert_allclose(losses, b.fit(X, y, 20), rtol=1e-12)
    _close(a, b)
    assert a.steps_done == b.steps_done == 20


def test_progress_reports_the_same_loss_and_accuracy_on_both_tiers(compiled_pair, monkeypatch):
    import symdiff.trainer as trainer_module
    cfg, _, compiled = compiled_pair
    reports = []

    class Recorder:
        def __init__(self, steps, loss_name):
            reports.append([])

        def __call__(self, step, loss, accuracy):
            reports[-1].append((step, loss, accuracy))

        def close(self):
            pass
    monkeypatch.setattr(trainer_module, "_Progress", Recorder)
    a, b = _pair(cfg)
    b._module = compiled.module
    X, y = _data(cfg["sizes"], cfg["loss"], n=40)
    with monkeypatch.context() as m:
        _numpy_only(m)
        a.fit(X, y, 10, verbose=True, report_every=3)
    b.fit(X, y, 10, verbose=True, report_every=3)
    (ra, rb) = reports
    assert [r[0] for r in ra] == [r[0] for r in rb] == [2, 5, 8, 9]
    np.testing.assert_allclose([r[1] for r in ra], [r[1] for r in rb], rtol=1e-12)
    assert [r[2] for r in ra] == [r[2] for r in rb]


def test_tiers_off_compiles_first_in_the_calling_thread(compiled_pair, monkeypatch):
    cfg = compiled_pair[0]
    monkeypatch.setenv("SYMDIFF_TIERS", "off")
    a, _ = _pair(cfg)
    X, y = _data(cfg["sizes"], cfg["loss"], n=40)
    a.fit(X, y, 3)
    assert a._tiers._compiled is not None and not a._tiers._jobs


def test_divergence_on_the_numpy_tier(monkeypatch):
    _numpy_only(monkeypatch)
    t = symdiff.mlp_trainer([2, 3, 1], loss="hinge", lr=1e300, verbose=False)
    X, y = _data([2, 3, 1], "hinge")
    with pytest.raises(symdiff.trainer.TrainingDiverged) as info:
        t.fit(X * 1e150, y, steps=20)
    assert not np.isfinite(info.value.losses[-1]) and t.steps_done == info.value.step


EXIT_SCRIPT = """
import numpy as np, symdiff
t = symdiff.mlp_trainer([2, 8, 1], loss="hinge", verbose=False)
X = np.random.default_rng(0).normal(size=(30, 2))
print(t.fit(X, np.sign(X[:, 0]), 3)[-1])
"""


# the background thread is slow to take its jobs (a busy machine): the script ends first
SLOW_THREAD = """
import time
from codegen import background
_submit = background.submit
background.submit = lambda name, work, wait_at_exit=True: _submit(
    name, lambda: (time.sleep(60), work())[1], wait_at_exit)
"""


def test_a_process_exits_while_its_trainer_compiles(tmp_path, monkeypatch):
    """The process ends at once (no wait, no crash), even before its background thread has
    run; its compile, in a child process (codegen.compile_process) started by the first
    fit, goes on and fills the cache for the next process."""
    import time
    from codegen.compile_process import cached
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("SYMDIFF_TIERS", None)
    first = subprocess.run([sys.executable, "-c", SLOW_THREAD + EXIT_SCRIPT], env=env,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path / "cache"))
    source = symdiff.mlp_trainer([2, 8, 1], loss="hinge", verbose=False).source
    deadline = time.monotonic() + 240
    while not cached(source, "train") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cached(source, "train"), "the child process did not fill the cache"
    # whatever the exit left in the cache, a later process compiles (or loads) and trains
    again = EXIT_SCRIPT.replace("print(", "t.compile(); print(")
    second = subprocess.run([sys.executable, "-c", again], env=env, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert float(first.stdout) == pytest.approx(float(second.stdout), rel=1e-12)


def test_without_a_child_process_the_compile_runs_here(monkeypatch):
    monkeypatch.setattr(sys, "executable", "")   # no interpreter to start
    a, b = _pair(dict(sizes=[1, 2, 1], activation="tanh", loss="(s - y)**2 + 0.25*s", lr=0.1))
    b._module = b.python
    X, y = _data([1, 2, 1], "mse")
    a.compile()
    assert a._tiers._compiled is not None
    np.testing.assert_allclose(a.fit(X, y, 4), b.fit(X, y, 4), rtol=1e-12)


MESSAGES_SCRIPT = """
import numba.core.errors as errors, numba.core.ir as ir
if not hasattr(errors, "HighlightColorScheme"):
    print("no colorama")
    raise SystemExit
calls = []
errors.init = errors.reinit = errors.deinit = lambda *args, **kwargs: calls.append(1)
from codegen import background
job = background.submit("messages", lambda: (ir._termcolor.errmsg("x"), errors.termcolor().filename("y")))
job.wait(60)
print(job.error, len(calls))
"""


def test_background_compiles_format_numba_messages_without_touching_streams():
    """Numba imported first (its modules keep the colour scheme they took at import):
    messages formatted in the compile thread must not run colorama's init/deinit, which
    swap sys.stdout behind the user's back (pytest's capsys lost output that way)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING"}
    r = subprocess.run([sys.executable, "-c", MESSAGES_SCRIPT], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    if r.stdout.strip() == "no colorama":
        pytest.skip("Numba colours nothing without colorama")
    assert r.stdout.split() == ["None", "0"]


def teardown_module():
    background.wait_idle(60)   # later test files watch the process: no compile of ours in flight
