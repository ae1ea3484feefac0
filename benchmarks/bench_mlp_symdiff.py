"""symdiff.mlp_trainer against its speed targets (issue 3), float64, one thread.

    python -m benchmarks.bench_mlp_symdiff

- lecture MLP(3,[4,4,1]) and moons MLP(2,[16,16,1]): µs per step with the whole run in one
  fit() call, next to the hand-written Numba kernels (benchmarks/kernels_mlp.py) timed in the
  same process, on the same initial weights (the trajectories are checked equal first);
- compile: MLP(2,[64,64,1]) in a fresh process with an empty cache, then the same trainer in
  a second fresh process (Numba's cache), both excluding the imports, which are shown apart;
- MLP(784,[128,10]) softmax_ce, batch 64, 50 steps: symdiff through the public
  ``fit(X, y, steps=50, batch_size=64)`` (whole run in one call, its own minibatch order)
  against JAX ``jit(lax.scan)`` over the same number of steps (its batches gathered inside
  the scan) and torch eager (float64, one thread).

Times are the best of several runs (perf_counter); the machine may be shared, so the
hand-written rows are the yardstick.
"""
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
t0 = time.perf_counter()
import numpy as np, numba, symdiff
t1 = time.perf_counter()
t = symdiff.mlp_trainer([2, 64, 64, 1], activation="relu", loss="hinge", l2=1e-4,
                        lr="1.0 - 0.9*step/steps", seed=0, verbose=False)
X = np.random.default_rng(0).normal(size=(100, 2)); y = np.sign(X[:, 0])
t.fit(X, y, 1)
t2 = time.perf_counter()
print(json.dumps(dict(imports=t1 - t0, build_and_first_fit=t2 - t1)))
"""


def compile_times():
    with tempfile.TemporaryDirectory(prefix="symdiff-bench-cache-") as cache:
        env = dict(os.environ, SYMDIFF_CACHE_DIR=cache)
        out = {}
        for label in ("cold (empty cache)", "cached (new process)"):
            r = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], env=env, capture_output=True,
                               text=True, check=True)
            out[label] = json.loads(r.stdout.strip().splitlines()[-1])
        return out


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
    t.fit(X, labels, 2)

    def run():
        t.params = start
        t.fit(X, labels, steps=steps, batch_size=batch)
    out["symdiff (whole run, one fit call)"] = best_of(run, 5) / steps * 1e6
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
    print("MLP(784,[128,10]) softmax_ce batch 64 µs/step:", results.setdefault("xent", xent()), flush=True)
    return results


if __name__ == "__main__":
    main()
