"""symdiff.mlp_trainer against its speed targets (issue 3), float64, one thread.

    python -m benchmarks.bench_mlp_symdiff

- lecture MLP(3,[4,4,1]) and moons MLP(2,[16,16,1]): µs per step with the whole run in one
  fit() call, next to the hand-written Numba kernels (benchmarks/kernels_mlp.py) timed in the
  same process, on the same initial weights (the trajectories are checked equal first);
- compile: MLP(2,[64,64,1]) in a fresh process with an empty cache, then the same trainer in
  a second fresh process (Numba's cache), both excluding the imports, which are shown apart:
  the first fit (1 step: the NumPy tier, codegen/mlp_numpy.py) and ``t.compile()`` (the
  compiled tier ready), wall and CPU; the same with SYMDIFF_TIERS=off;
- the CLI ``symdiff mlp --sizes 2,16,16,1 --data moons --steps 100``, whole process, cold
  and again; what a background compile costs the NumPy tier's steps (the GIL);
- MLP(784,[128,10]) softmax_ce, batch 64, 50 steps: symdiff through the public
  ``fit(X, y, steps=50, batch_size=64)`` (whole run in one call, its own minibatch order)
  against JAX ``jit(lax.scan)`` over the same number of steps (its batches gathered inside
  the scan) and torch eager (float64, one thread); the NumPy tier's step too.

Times are the best of several runs (perf_counter); the machine may be shared, so the
hand-written rows are the yardstick.
"""
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

from . import common  # noqa: F401  (pins one thread before numpy/torch import)
import numpy as np

import symdiff
from symdiff import datasets

from . import kernels_mlp as K


def best_of(fn, repeats=7):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def lecture():
    X = np.array([[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]])
    y = np.array([1.0, -1.0, -1.0, 1.0])
    t = symdiff.mlp_trainer([3, 4, 4, 1], activation="tanh", output_activation="tanh",
                            loss="mse", reduction="sum", lr=0.1, seed=1, verbose=False)
    start = t.params
    flat = [a for W, b in start for a in (W, b)]
    steps = 1000
    ours = t.fit(X, y, steps)
    hand = K.lecture_train(*flat, X, y, 0.1, steps)[0]
    np.testing.assert_allclose(ours, hand, rtol=1e-9)

    u = symdiff.mlp_trainer([3, 4, 4, 1], activation="tanh", output_activation="tanh",
                            loss="mse", reduction="sum", lr=0.1, seed=1, unroll=True, verbose=False)
    np.testing.assert_allclose(u.fit(X, y, steps), hand, rtol=1e-9)

    def run(t=t):
        t.params = start
        t.fit(X, y, steps)
    return {"symdiff": best_of(run) / steps * 1e6,
            "symdiff unroll=True": best_of(lambda: run(u)) / steps * 1e6,
            "hand-written Numba": best_of(lambda: K.lecture_train(*flat, X, y, 0.1, steps)) / steps * 1e6}


def moons():
    X, labels = datasets.moons(100)
    y = np.where(labels > 0, 1.0, -1.0)
    t = symdiff.mlp_trainer([2, 16, 16, 1], activation="relu", loss="hinge", l2=1e-4,
                            lr="1.0 - 0.9*step/steps", seed=2, verbose=False)
    start = t.params
    flat = [a for W, b in start for a in (W, b)]
    XT = np.ascontiguousarray(X.T)
    steps = 100
    ours = t.fit(X, y, steps)
    hand = K.moons_train_batched(*flat, XT, y, 1e-4, steps)[0]
    np.testing.assert_allclose(ours, hand, rtol=1e-9)

    def run():
        t.params = start
        t.fit(X, y, steps)
    return {"symdiff": best_of(run, 21) / steps * 1e6,
            "hand-written Numba batched": best_of(lambda: K.moons_train_batched(*flat, XT, y, 1e-4, steps), 21) / steps * 1e6,
            "hand-written Numba per sample": best_of(lambda: K.moons_train_per_sample(*flat, X, y, 1e-4, steps), 21) / steps * 1e6}


COMPILE_SCRIPT = r"""
import time, json, sys
w0, c0 = time.perf_counter(), time.process_time()
import numpy as np, symdiff
w1, c1 = time.perf_counter(), time.process_time()
t = symdiff.mlp_trainer([2, 64, 64, 1], activation="relu", loss="hinge", l2=1e-4,
                        lr="1.0 - 0.9*step/steps", seed=0, verbose=False)
X = np.random.default_rng(0).normal(size=(100, 2)); y = np.sign(X[:, 0])
t.fit(X, y, 1)
w2, c2 = time.perf_counter(), time.process_time()
numba_then = "numba" in sys.modules
t.compile()          # waits for the compiled trainer (compiles it, or loads it from the cache)
w3, c3 = time.perf_counter(), time.process_time()
print(json.dumps(dict(imports=w1 - w0, first_fit_wall=w2 - w1, first_fit_cpu=c2 - c1,
                      compiled_wall=w3 - w1, compiled_cpu=c3 - c1, numba_imported_by_first_fit=numba_then)))
"""


def compile_times():
    """MLP(2,[64,64,1]): mlp_trainer + its first fit (1 step), then t.compile() (the compiled
    tier ready), each in a fresh process, times after the imports (numpy, symdiff), wall
    and CPU. Cold: an empty cache; warm: the cache the cold process filled. The same with
    SYMDIFF_TIERS=off (the first fit compiles first, as before the tiers)."""
    out = {}
    for tiers in ("on", "off"):
        with tempfile.TemporaryDirectory(prefix="symdiff-bench-cache-") as cache:
            env = dict(os.environ, SYMDIFF_CACHE_DIR=cache, SYMDIFF_TIERS=tiers)
            for label in ("cold", "warm"):
                r = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], env=env, capture_output=True,
                                   text=True, check=True)
                out[f"tiers {tiers}, {label}"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in
                                                  json.loads(r.stdout.strip().splitlines()[-1]).items()}
    return out


CLI = ["-m", "symdiff", "mlp", "--sizes", "2,16,16,1", "--data", "moons", "--steps", "100"]


def cli_times():
    """``symdiff mlp --sizes 2,16,16,1 --data moons --steps 100`` as a user runs it: the
    whole process, wall and CPU (user + system), with an empty cache and then again."""
    import resource
    out = {}
    with tempfile.TemporaryDirectory(prefix="symdiff-bench-cache-") as cache:
        env = dict(os.environ, SYMDIFF_CACHE_DIR=cache, SYMDIFF_TIERS="on")   # as a user has it
        for label in ("cold", "again"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            w = time.perf_counter()
            subprocess.run([sys.executable, *CLI], env=env, capture_output=True, check=True)
            wall = time.perf_counter() - w
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            out[label] = dict(wall=round(wall, 3), cpu=round(cpu, 3))
    return out


GIL_SCRIPT = r"""
import time, json
import numpy as np, symdiff
from symdiff import datasets
from symdiff.trainer_tiers import TrainerTiers
X, labels = datasets.moons(100)
y = np.where(labels > 0, 1.0, -1.0)
kw = dict(activation="relu", loss="hinge", l2=1e-4, lr="1.0 - 0.9*step/steps", verbose=False)

def per_step(t, fits=40):
    times = []
    for _ in range(fits):
        w = time.perf_counter(); t.fit(X, y, 5); times.append((time.perf_counter() - w) / 5)
    return float(np.median(times))

alone = symdiff.mlp_trainer([2, 16, 16, 1], seed=1, **kw)
ready, queue = TrainerTiers.ready, TrainerTiers.queue
TrainerTiers.ready = lambda self, key: False
TrainerTiers.queue = lambda self, key, args: None
alone.fit(X, y, 1)
idle = per_step(alone)                       # the NumPy tier, nothing compiling
TrainerTiers.queue = queue                   # now with the compile of a [2, 64, 64, 1] trainer
busy_t = symdiff.mlp_trainer([2, 64, 64, 1], seed=0, **kw)
busy_t.fit(X, y, 1)
busy = per_step(alone)
pending = not busy_t._tiers._jobs["C"].done()
print(json.dumps(dict(idle_us=idle * 1e6, during_compile_us=busy * 1e6, still_compiling=pending)))
"""


def gil_cost():
    """What a background compile (a thread) costs the user's thread: the NumPy tier's
    step on moons MLP(2,[16,16,1]) (Python-bound: the worst case for the GIL), median of
    5-step fits, alone and while another trainer compiles. Pinned to one CPU (as the
    rest of the benchmarks), so the two threads also share that core."""
    with tempfile.TemporaryDirectory(prefix="symdiff-bench-cache-") as cache:
        env = dict(os.environ, SYMDIFF_CACHE_DIR=cache, SYMDIFF_TIERS="on")
        r = subprocess.run([sys.executable, "-c", GIL_SCRIPT], env=env, capture_output=True,
                           text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _numpy_tier():
    """Trainers made here run the NumPy tier throughout (no compile queued)."""
    from symdiff.trainer_tiers import TrainerTiers
    saved = TrainerTiers.ready, TrainerTiers.queue, os.environ.get("SYMDIFF_TIERS")
    TrainerTiers.ready = lambda self, key: False
    TrainerTiers.queue = lambda self, key, args: None
    os.environ["SYMDIFF_TIERS"] = "on"
    try:
        yield
    finally:
        TrainerTiers.ready, TrainerTiers.queue = saved[:2]
        if saved[2] is None:
            os.environ.pop("SYMDIFF_TIERS")
        else:
            os.environ["SYMDIFF_TIERS"] = saved[2]


def xent(n_batches=10, batch=64, steps=50):
    torch = common.peer("torch")
    jax = common.peer("jax")
    rng = np.random.default_rng(3)
    X = rng.uniform(0.0, 1.0, (n_batches * batch, 784))
    labels = rng.integers(0, 10, n_batches * batch)
    t = symdiff.mlp_trainer([784, 128, 10], activation="relu", loss="softmax_ce", lr=0.1,
                            init="he", seed=3, batch_size=batch, verbose=False)
    start = t.params
    out = {}
    t.compile()            # the compiled tier from the first timed step (not the NumPy tier)
    t.fit(X, labels, 2)

    def run():
        t.params = start
        t.fit(X, labels, steps=steps, batch_size=batch)
    out["symdiff (whole run, one fit call)"] = best_of(run, 5) / steps * 1e6
    with _numpy_tier():    # what a new trainer's first steps run while it compiles
        u = symdiff.mlp_trainer([784, 128, 10], activation="relu", loss="softmax_ce", lr=0.1,
                                init="he", seed=3, batch_size=batch, verbose=False)

        def run_numpy():
            u.params = start
            u.fit(X, labels, steps=steps, batch_size=batch)
        out["symdiff NumPy tier (whole run, one fit call)"] = best_of(run_numpy, 5) / steps * 1e6
    if jax is not None:   # the same net, loss and minibatch gather, every step in one jit(lax.scan)
        import jax.numpy as jnp
        order = np.concatenate([np.random.default_rng(0).permutation(len(X))
                                for _ in range(-(-steps * batch // len(X)))])
        idx = jnp.asarray(order[:steps * batch].reshape(steps, batch))
        Xj, yj = jnp.asarray(X), jnp.asarray(labels)

        def loss_fn(p, xb, yb):
            h = jax.nn.relu(xb @ p[0][0].T + p[0][1])
            z = h @ p[1][0].T + p[1][1]
            return -jnp.mean(jax.nn.log_softmax(z)[jnp.arange(batch), yb])

        @jax.jit
        def jax_train(p):
            def step(p, ix):
                loss, g = jax.value_and_grad(loss_fn)(p, Xj[ix], yj[ix])
                return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g), loss
            return jax.lax.scan(step, p, idx)
        jparams = [(jnp.asarray(W), jnp.asarray(b)) for W, b in start]
        jax.block_until_ready(jax_train(jparams))
        ours, theirs = [], []
        for _ in range(9):   # alternating, so a burst of load elsewhere hits both
            ours.append(best_of(run, 1))
            theirs.append(best_of(lambda: jax.block_until_ready(jax_train(jparams)), 1))
        out["symdiff (whole run, one fit call)"] = min(ours) / steps * 1e6
        out["JAX jit(lax.scan) (whole run, one call)"] = min(theirs) / steps * 1e6
        out["symdiff / JAX, median of the 9 pairs"] = float(np.median(np.array(ours) / np.array(theirs)))
    if torch is not None:
        order = np.random.default_rng(0).permutation(len(X))
        batches = [(torch.from_numpy(X[order[k * batch:(k + 1) * batch]]),
                    torch.from_numpy(labels[order[k * batch:(k + 1) * batch]]))
                   for k in range(n_batches)]

        def torch_run():
            params = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
                      for W, b in start]
            flat = [p for pair in params for p in pair]
            for k in range(steps):
                Xb, yb = batches[k % n_batches]
                h = torch.relu(Xb @ params[0][0].T + params[0][1])
                z = h @ params[1][0].T + params[1][1]
                loss = torch.nn.functional.cross_entropy(z, yb)
                for p in flat:
                    p.grad = None
                loss.backward()
                with torch.no_grad():
                    for p in flat:
                        p -= 0.1 * p.grad
        out["torch eager"] = best_of(torch_run, 5) / steps * 1e6
    return out


def main():
    results = {}
    print("lecture MLP(3,[4,4,1]) µs/step:", results.setdefault("lecture", lecture()), flush=True)
    print("moons MLP(2,[16,16,1]) µs/step:", results.setdefault("moons", moons()), flush=True)
    print("compile MLP(2,[64,64,1]) s:", results.setdefault("compile", compile_times()), flush=True)
    print("CLI mlp moons, whole process s:", results.setdefault("cli", cli_times()), flush=True)
    print("NumPy tier step during a background compile:", results.setdefault("gil", gil_cost()), flush=True)
    print("MLP(784,[128,10]) softmax_ce batch 64 µs/step:", results.setdefault("xent", xent()), flush=True)
    return results


if __name__ == "__main__":
    main()
