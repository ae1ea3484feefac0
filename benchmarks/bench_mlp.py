"""Peers for symdiff's MLP trainer: same initial weights, float64, one thread.

Problems
* lecture: MLP(3, [4, 4, 1]) tanh on every layer, 4 samples, sum of squared
  errors, SGD lr 0.1;
* moons:   MLP(2, [16, 16, 1]) relu, relu, linear, 100 two-moons samples,
  mean hinge + 1e-4 * sum of squares of all params, lr 1.0 - 0.9*step/100,
  full batch, 100 steps;
* xent:    MLP(784, [128, 10]) relu + softmax cross-entropy, batch 64, SGD,
  random data.

Every implementation returns its loss trajectory (``losses[k]`` = loss at the
parameters before update ``k``); all trajectories are checked against the
hand-written Numba one before anything is timed.  Times are per training step
with the whole run timed as one call.

    python -m benchmarks.bench_mlp
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np

from .common import (Mismatch, Row, Table, Timing, check_close, peer, timeit, versions_markdown)
from . import kernels_mlp as K

RTOL = 1e-9


# --- problems ------------------------------------------------------------------------
def two_moons(n: int = 100, noise: float = 0.1, seed: int = 0):
    """Deterministic two interleaving half circles (sklearn's make_moons layout);
    labels are -1 (upper moon) and +1 (lower moon)."""
    rng = np.random.default_rng(seed)
    n_up = n // 2
    n_down = n - n_up
    t_up = np.linspace(0.0, np.pi, n_up)
    t_down = np.linspace(0.0, np.pi, n_down)
    X = np.concatenate([np.stack([np.cos(t_up), np.sin(t_up)], axis=1),
                        np.stack([1.0 - np.cos(t_down), 0.5 - np.sin(t_down)], axis=1)])
    X += noise * rng.normal(size=X.shape)
    y = np.concatenate([-np.ones(n_up), np.ones(n_down)])
    perm = rng.permutation(n)
    return X[perm], y[perm]


def init_params(sizes, rng, bias: str):
    """[(W, b), ...] with W[out, in] ~ U(-1, 1); b ~ U(-1, 1) or zeros."""
    params = []
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        W = rng.uniform(-1.0, 1.0, (nout, nin))
        b = rng.uniform(-1.0, 1.0, nout) if bias == "uniform" else np.zeros(nout)
        params.append((W, b))
    return params


@dataclass
class Problem:
    name: str
    sizes: list[int]
    acts: list[str]                # activation per layer: "tanh" | "relu" | "linear"
    loss: str                      # "sse" | "hinge_l2" | "xent"
    params: list                   # initial [(W, b), ...]
    Xb: np.ndarray                 # [batch, sample, feature]
    yb: np.ndarray                 # [batch, sample]  (float targets or int labels)
    steps: int
    lr: Callable                   # step -> learning rate (numpy or jax scalar)
    micrograd_steps: int = 0       # 0: micrograd not run on this problem
    reg: float = 0.0
    symdiff_kwargs: dict = None    # the same problem in symdiff.mlp_trainer's terms

    def batch(self, k):
        return self.Xb[k % len(self.Xb)], self.yb[k % len(self.yb)]

    @property
    def flat_params(self):
        return [a for W, b in self.params for a in (W, b)]


def make_problems() -> list[Problem]:
    lecture = Problem(
        "lecture MLP(3,[4,4,1])", [3, 4, 4, 1], ["tanh"] * 3, "sse",
        init_params([3, 4, 4, 1], np.random.default_rng(1), bias="uniform"),
        np.array([[[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]]),
        np.array([[1.0, -1.0, -1.0, 1.0]]),
        steps=1000, lr=lambda k: 0.1, micrograd_steps=100,
        symdiff_kwargs=dict(activation="tanh", output_activation="tanh", loss="mse",
                            reduction="sum", lr=0.1))
    X, y = two_moons(100)
    moons = Problem(
        "moons MLP(2,[16,16,1])", [2, 16, 16, 1], ["relu", "relu", "linear"], "hinge_l2",
        init_params([2, 16, 16, 1], np.random.default_rng(2), bias="zero"),
        X[None], y[None], steps=100, lr=lambda k: 1.0 - 0.9 * k / 100,
        micrograd_steps=1, reg=1e-4,
        symdiff_kwargs=dict(activation="relu", output_activation="linear", loss="hinge",
                            reduction="mean", l2=1e-4, lr="1.0 - 0.9*step/steps"))
    rng = np.random.default_rng(3)
    n_batches, batch = 10, 64
    params = [(W / math.sqrt(W.shape[1]), b)
              for W, b in init_params([784, 128, 10], rng, bias="zero")]
    xent = Problem(
        "MLP(784,[128,10]) xent", [784, 128, 10], ["relu", "linear"], "xent", params,
        rng.uniform(0.0, 1.0, (n_batches, batch, 784)),
        rng.integers(0, 10, (n_batches, batch)), steps=100, lr=lambda k: 0.1,
        symdiff_kwargs=dict(activation="relu", output_activation="linear", loss="softmax_ce",
                            reduction="mean", lr=0.1))
    return [lecture, moons, xent]


# --- array-library peers (torch, JAX) share one model definition ---------------------
def forward_loss(m, params, X, y, prob: Problem):
    """Loss of the MLP on one batch; ``m`` is a torch- or jax-like namespace."""
    h = X
    for (W, b), act in zip(params, prob.acts):
        h = h @ W.T + b
        if act == "tanh":
            h = m.tanh(h)
        elif act == "relu":
            h = m.relu(h)
    if prob.loss == "sse":
        return m.sum((h[:, 0] - y) ** 2)
    if prob.loss == "hinge_l2":
        data = m.mean(m.relu(1.0 - y * h[:, 0]))
        return data + prob.reg * sum(m.sum(W * W) + m.sum(b * b) for W, b in params)
    if prob.loss == "xent":
        return -m.mean(m.pick(m.log_softmax(h), y))
    raise ValueError(prob.loss)


def torch_run(prob: Problem):
    torch = peer("torch")
    if torch is None:
        return None
    m = SimpleNamespace(tanh=torch.tanh, relu=torch.relu, sum=torch.sum, mean=torch.mean,
                        log_softmax=lambda z: torch.log_softmax(z, dim=1),
                        pick=lambda lp, y: lp[torch.arange(lp.shape[0]), y])
    batches = [(torch.from_numpy(X), torch.from_numpy(y)) for X, y in zip(prob.Xb, prob.yb)]

    def run(steps=prob.steps):
        params = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
                  for W, b in prob.params]
        flat = [p for pair in params for p in pair]
        losses = np.empty(steps)
        for k in range(steps):
            X, y = batches[k % len(batches)]
            loss = forward_loss(m, params, X, y, prob)
            for p in flat:
                p.grad = None
            loss.backward()
            lr = prob.lr(k)
            with torch.no_grad():
                for p in flat:
                    p -= lr * p.grad
            losses[k] = loss.item()
        return losses
    return run


def _jax_parts(prob: Problem):
    jax = peer("jax")
    if jax is None:
        return None
    jnp = jax.numpy
    m = SimpleNamespace(tanh=jnp.tanh, relu=jax.nn.relu, sum=jnp.sum, mean=jnp.mean,
                        log_softmax=lambda z: jax.nn.log_softmax(z, axis=1),
                        pick=lambda lp, y: lp[jnp.arange(lp.shape[0]), y])
    Xb, yb = jnp.asarray(prob.Xb), jnp.asarray(prob.yb)
    params0 = [(jnp.asarray(W), jnp.asarray(b)) for W, b in prob.params]

    def step(params, k):
        i = k % Xb.shape[0]
        loss, grads = jax.value_and_grad(forward_loss, argnums=1)(m, params, Xb[i], yb[i], prob)
        lr = prob.lr(k)
        params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return params, loss
    return jax, jnp, params0, step


def jax_scan_run(prob: Problem):
    parts = _jax_parts(prob)
    if parts is None:
        return None
    jax, jnp, params0, step = parts
    train = jax.jit(lambda p: jax.lax.scan(step, p, jnp.arange(prob.steps))[1])

    def run():
        return np.asarray(jax.block_until_ready(train(params0)))
    return run


def jax_per_step_run(prob: Problem):
    parts = _jax_parts(prob)
    if parts is None:
        return None
    jax, jnp, params0, step = parts
    jstep = jax.jit(step)

    def run():
        params = params0
        losses = []
        for k in range(prob.steps):
            params, loss = jstep(params, k)
            losses.append(loss)
        return np.asarray(jax.block_until_ready(jnp.stack(losses)))
    return run


# --- micrograd (scalar autograd, per-sample graph) -----------------------------------
def micrograd_run(prob: Problem):
    if not prob.micrograd_steps:
        return None
    if peer("micrograd") is None:
        return None
    from micrograd.engine import Value

    def tanh(v):
        # micrograd 0.1.0 on PyPI has no tanh; this is the lecture's tanh node.
        t = math.tanh(v.data)
        out = Value(t, (v,), "tanh")

        def _backward():
            v.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    act = {"tanh": tanh, "relu": lambda v: v.relu(), "linear": lambda v: v}

    def run(steps=prob.micrograd_steps):
        params = [([[Value(float(w)) for w in row] for row in W], [Value(float(c)) for c in b])
                  for W, b in prob.params]
        flat = [p for W, b in params for p in [w for row in W for w in row] + b]
        losses = np.empty(steps)
        for k in range(steps):
            X, y = prob.batch(k)
            outs = []
            for x in X:
                h = [float(v) for v in x]
                for (W, b), a in zip(params, prob.acts):
                    h = [act[a](sum((wi * hi for wi, hi in zip(row, h)), bj))
                         for row, bj in zip(W, b)]
                outs.append(h[0])
            if prob.loss == "sse":
                loss = sum((o - float(t)) ** 2 for o, t in zip(outs, y))
            elif prob.loss == "hinge_l2":
                data = sum((1 + -float(t) * o).relu() for o, t in zip(outs, y)) * (1.0 / len(y))
                loss = data + prob.reg * sum(p * p for p in flat)
            else:
                raise ValueError(prob.loss)
            for p in flat:
                p.grad = 0
            loss.backward()
            lr = prob.lr(k)
            for p in flat:
                p.data -= lr * p.grad
            losses[k] = loss.data
        return losses
    return run


# --- hand-written Numba (whole run in one njit call) ---------------------------------
def numba_runs(prob: Problem) -> dict[str, Callable]:
    """label -> run() returning the loss trajectory."""
    p = prob.flat_params
    if prob.loss == "sse":
        X, y = prob.batch(0)
        return {"hand-written Numba (per sample)":
                lambda: K.lecture_train(*p, X, y, 0.1, prob.steps)[0]}
    if prob.loss == "hinge_l2":
        X, y = prob.batch(0)
        XT = np.ascontiguousarray(X.T)
        return {"hand-written Numba per-sample loop":
                lambda: K.moons_train_per_sample(*p, X, y, prob.reg, prob.steps)[0],
                "hand-written Numba batched, samples innermost":
                lambda: K.moons_train_batched(*p, XT, y, prob.reg, prob.steps)[0]}
    if prob.loss == "xent":
        XTb = np.ascontiguousarray(prob.Xb.transpose(0, 2, 1))
        Lb = prob.yb.astype(np.int64)
        runs = {"hand-written Numba loops, samples innermost":
                lambda: K.xent_train_loops(*p, XTb, Lb, 0.1, prob.steps)[0]}
        if peer("scipy") is not None:   # numba's np.dot calls BLAS through scipy
            runs["hand-written Numba + np.dot (BLAS)"] = \
                lambda: K.xent_train_blas(*p, XTb, Lb, 0.1, prob.steps)[0]
        return runs
    raise ValueError(prob.loss)


# --- HOOK: symdiff.mlp_trainer -------------------------------------------------------
def symdiff_run(prob: Problem):
    """HOOK for ``symdiff.mlp_trainer``: a run() like the peers', or a skip reason (str).

    Sets the trainer's params to the shared initial weights on every run (which
    also resets its optimizer state and step counter), then trains.  Full-batch
    problems run all steps in one ``fit`` call; minibatch problems call
    ``fit(batch, steps=1)`` per step so the batch sequence matches the peers'
    (the trainer's own shuffled minibatch order would not).
    """
    try:
        import symdiff
        make_trainer = symdiff.mlp_trainer
    except Exception as exc:
        return f"skipped: symdiff.mlp_trainer not available yet ({type(exc).__name__})"
    trainer = make_trainer(prob.sizes, verbose=False, **prob.symdiff_kwargs)
    full_batch = len(prob.Xb) == 1

    def run():
        trainer.params = prob.params
        if full_batch:
            X, y = prob.batch(0)
            return trainer.fit(X, y, steps=prob.steps, batch_size=None)
        return np.array([trainer.fit(*prob.batch(k), steps=1, batch_size=None)[0]
                         for k in range(prob.steps)])
    run.note = ("whole run in one fit() call" if full_batch
                else "one fit(batch, steps=1) call per step (same batch order as the peers)")
    return run


# --- driver ---------------------------------------------------------------------------
def bench_problem(prob: Problem, table: Table) -> None:
    print(f"[{prob.name}]", flush=True)
    impls: dict[str, tuple[Callable | None, int, str]] = {}
    for label, run in numba_runs(prob).items():
        impls[label] = (run, prob.steps, "whole run in one njit call")
    impls["JAX jit(lax.scan) over steps"] = (jax_scan_run(prob), prob.steps, "whole run in one call")
    impls["JAX jit per step"] = (jax_per_step_run(prob), prob.steps, "Python loop over a jitted step")
    impls["torch eager"] = (torch_run(prob), prob.steps, "per step: forward, backward, SGD")
    if prob.micrograd_steps:
        impls["micrograd"] = (micrograd_run(prob), prob.micrograd_steps,
                              f"only {prob.micrograd_steps} step(s) (slow); tanh node added")
    try:
        sd = symdiff_run(prob)
    except Exception as exc:   # the trainer is young: report, don't abort the suite
        sd = f"FAILED to build: {type(exc).__name__}: {exc}"
    if isinstance(sd, str):
        skipped = {"symdiff.mlp_trainer": sd}
    else:
        skipped = {}
        impls["symdiff.mlp_trainer"] = (sd, prob.steps, sd.note)
    ref_label = next(iter(impls))
    ref = impls[ref_label][0]()
    ref_time = None
    for label, (run, steps, note) in impls.items():
        if run is None:
            table.add(Row(prob.name, label, note="skipped (not installed)"))
            continue
        try:
            losses = run()
            check_close(f"{label} loss trajectory", losses, ref[:steps], rtol=RTOL)
        except Mismatch as exc:
            table.add(Row(prob.name, label, note=f"WRONG, not timed: {exc}"))
            continue
        except Exception as exc:
            table.add(Row(prob.name, label, note=f"FAILED: {type(exc).__name__}: {exc}"))
            continue
        t = timeit(run, warmup=0, min_repeats=3, budget=2.0, max_repeats=20)  # run() above warmed up
        per_step = Timing(t.best / steps, t.median / steps, t.cpu / steps, t.repeats)
        ref_time = ref_time or per_step
        table.add(Row.timed(prob.name, label, per_step, scale=1e6, unit="µs/step",
                            ref=ref_time, note=note))
    for label, why in skipped.items():
        table.add(Row(prob.name, label, note=why))
    table.notes.append(f"{prob.name}: loss {ref[0]:.6g} -> {ref[-1]:.6g} after {prob.steps} steps "
                       f"(all trajectories equal to rtol {RTOL:g}).")


def main(quick: bool = False) -> list[Table]:
    """``quick``: the caller has set ``common.set_quick`` (fewer repeats); the problems
    keep their sizes, since every trajectory is checked against the Numba one."""
    table = Table("MLP training: per-step time, float64, one thread",
                  ratio_label="ratio (CPU) vs first Numba row")
    table.notes.append("Times are best (and median) of whole training runs divided by the "
                       "number of steps; warm-up run (compilation) excluded.")
    for prob in make_problems():
        bench_problem(prob, table)
    return [table]


if __name__ == "__main__":
    tables = main()
    print()
    for t in tables:
        print(t.markdown())
    print(versions_markdown())
