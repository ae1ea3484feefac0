"""symdiff.mlp_trainer against independent references.

- a plain NumPy MLP (forward, hand-written backward, sgd/momentum/adam), written here;
- central finite differences of the generated loss;
- symdiff.differentiate applied to the unrolled loss of a tiny net, written here as text;
- the generated module run as plain Python against its Numba compilation.

Most trajectories run the generated module as plain Python (no compile; small nets), and a
few configs are compiled once per session (module-scoped fixtures) to keep the suite fast.
"""
import math
import os
import sys

import numpy as np
import importlib.util

import pytest
from hypothesis import given, settings, strategies as st

import symdiff
from symdiff import FormulaError, datasets
from symdiff.trainer import TrainingDiverged

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


# -- the NumPy reference ----------------------------------------------------------------------
def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


ACT = {  # name: (f(z), f'(z) from z and h = f(z))
    "tanh": (np.tanh, lambda z, h: 1.0 - h * h),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0) * 1.0),
    "sigmoid": (_sig, lambda z, h: h * (1.0 - h)),
    "linear": (lambda z: z, lambda z, h: np.ones_like(z)),
    "x*sigmoid(x)": (lambda z: z * _sig(z), lambda z, h: _sig(z) + z * _sig(z) * (1.0 - _sig(z))),
}


def ref_loss_and_grads(params, X, Y, cfg):
    """Loss and [(dW, db)] of an MLP; X (n, n_in); Y (n, n_out) or labels (n,)."""
    hs, zs = [X], []
    L = len(params)
    for k, (W, b) in enumerate(params):
        z = hs[-1] @ W.T + b
        f = ACT[cfg["output_activation"] if k == L - 1 else cfg["activation"]][0]
        zs.append(z)
        hs.append(f(z))
    S = hs[-1]
    n = len(X)
    scale = 1.0 / n if cfg.get("reduction", "mean") == "mean" else 1.0
    loss = cfg["loss"]
    if loss == "mse":
        total, dS = np.sum((S - Y) ** 2), 2.0 * (S - Y)
    elif loss == "hinge":
        m = 1.0 - Y * S
        total, dS = np.sum(np.maximum(m, 0.0)), -Y * (m > 0)
    elif loss == "logistic":
        total, dS = np.sum(np.log1p(np.exp(-Y * S))), -Y * _sig(-Y * S)
    elif loss == "softmax_ce":
        m = S.max(1, keepdims=True)
        e = np.exp(S - m)
        total = np.sum(np.log(e.sum(1)) + m[:, 0] - S[np.arange(n), Y])
        dS = e / e.sum(1, keepdims=True)
        dS[np.arange(n), Y] -= 1.0
    elif loss == "(s - y)**4/4":
        total, dS = np.sum((S - Y) ** 4 / 4), (S - Y) ** 3
    else:
        raise ValueError(loss)
    total, dH = total * scale, dS * scale
    grads = [None] * L
    for k in range(L - 1, -1, -1):
        W, b = params[k]
        fprime = ACT[cfg["output_activation"] if k == L - 1 else cfg["activation"]][1]
        dZ = dH * fprime(zs[k], hs[k + 1])
        grads[k] = [dZ.T @ hs[k], dZ.sum(0)]
        dH = dZ @ W
    l2 = cfg.get("l2", 0.0)
    if l2:
        for k, (W, b) in enumerate(params):
            total += l2 * np.sum(W * W)
            grads[k][0] = grads[k][0] + 2 * l2 * W
            if not cfg.get("l2_weights_only"):
                total += l2 * np.sum(b * b)
                grads[k][1] = grads[k][1] + 2 * l2 * b
    return total, grads


def ref_train(params, X, Y, cfg, steps, lr, batches=None):
    """The trajectory of total losses; lr(step, steps); batches[step] = sample indices."""
    params = [[W.copy(), b.copy()] for W, b in params]
    opt = cfg.get("optimizer", "sgd")
    mom = cfg.get("momentum", 0.9)
    b1, b2, eps = cfg.get("beta1", 0.9), cfg.get("beta2", 0.999), cfg.get("eps", 1e-8)
    state1 = [[np.zeros_like(a) for a in p] for p in params]
    state2 = [[np.zeros_like(a) for a in p] for p in params]
    losses = []
    for step in range(steps):
        idx = slice(None) if batches is None else batches[step]
        loss, grads = ref_loss_and_grads(params, X[idx], Y[idx], cfg)
        losses.append(loss)
        rate = lr(step, steps)
        t = step + 1
        for p, g, s1, s2 in zip(params, grads, state1, state2):
            for q in range(2):
                if opt == "sgd":
                    p[q] = p[q] - rate * g[q]
                elif opt == "momentum":
                    s1[q] = mom * s1[q] + g[q]
                    p[q] = p[q] - rate * s1[q]
                else:
                    s1[q] = b1 * s1[q] + (1 - b1) * g[q]
                    s2[q] = b2 * s2[q] + (1 - b2) * g[q] * g[q]
                    p[q] = p[q] - rate * (s1[q] / (1 - b1 ** t)) / (np.sqrt(s2[q] / (1 - b2 ** t)) + eps)
    return np.array(losses), params


def small_data(n=12, n_in=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    labels = (X[:, 0] * X[:, -1] > 0).astype(np.int64)
    return X, labels


def targets_for(loss, labels, n_out, rng):
    if loss == "softmax_ce":
        return labels % n_out
    if loss in ("hinge", "logistic"):
        return np.where(np.eye(n_out)[labels % n_out] > 0, 1.0, -1.0) if n_out > 1 \
            else np.where(labels > 0, 1.0, -1.0)[:, None]
    return rng.normal(size=(len(labels), n_out))


def plain(t):
    """Run the trainer's generated module as plain Python (no Numba compile)."""
    t._module = t.python
    return t


# -- trajectories equal the NumPy reference ----------------------------------------------------
CASES = [
    dict(sizes=[2, 5, 4, 1], activation="tanh", output_activation="linear", loss="mse"),
    dict(sizes=[2, 5, 1], activation="relu", output_activation="linear", loss="hinge", l2=1e-3,
         lr="1.0 - 0.9*step/steps"),
    dict(sizes=[2, 4, 1], activation="sigmoid", output_activation="linear", loss="logistic",
         optimizer="momentum", momentum=0.8),
    dict(sizes=[2, 5, 3], activation="x*sigmoid(x)", output_activation="linear", loss="softmax_ce",
         optimizer="adam", lr=0.05, l2=1e-3, l2_weights_only=True),
    dict(sizes=[3, 4, 4, 1], activation="tanh", output_activation="tanh", loss="mse", reduction="sum",
         lr=0.1),
    dict(sizes=[2, 3, 2], activation="linear", output_activation="sigmoid", loss="(s - y)**4/4",
         optimizer="adam", beta1=0.8, beta2=0.99, eps=1e-6, lr=0.01),
    dict(sizes=[2, 4, 2], activation="relu", output_activation="tanh", loss="hinge", unroll=True,
         optimizer="momentum", lr=0.2, l2=1e-2),
    dict(sizes=[2, 3, 3], activation="tanh", output_activation="linear", loss="softmax_ce",
         unroll=True, reduction="sum", lr=0.05),
    pytest.param(dict(sizes=[3, 5, 4, 2], activation="relu", output_activation="linear", loss="mse",
                      blas=True, l2=1e-2, optimizer="momentum"),
                 marks=pytest.mark.skipif(importlib.util.find_spec("scipy") is None,
                                          reason="BLAS layers need SciPy (the optional extra 'blas')")),
]


def test_big_layers_use_blas_only_when_scipy_is_there(monkeypatch):
    import importlib.util
    big = symdiff.mlp_trainer([784, 128, 10], loss="softmax_ce")
    has_scipy = importlib.util.find_spec("scipy") is not None
    assert ("np.dot(W1, X, Z1)" in big.source) == has_scipy
    assert "np.dot(W2" not in big.source                      # 1280 weights: loops
    assert "np.dot" not in symdiff.mlp_trainer([784, 128, 10], loss="softmax_ce", blas=False).source


def _lr_function(cfg):
    lr = cfg.get("lr", 0.1)
    if isinstance(lr, str):
        return lambda step, steps: eval(lr, {"step": step, "steps": steps})
    return lambda step, steps: lr


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['loss']}-{c['activation']}-"
                         f"{c.get('optimizer', 'sgd')}{'-unroll' if c.get('unroll') else ''}")
def test_trajectory_equals_numpy_reference(case):
    cfg = dict(case)
    X, labels = small_data(12, cfg["sizes"][0])
    Y = targets_for(cfg["loss"], labels, cfg["sizes"][-1], np.random.default_rng(1))
    t = plain(symdiff.mlp_trainer(**cfg, seed=3, verbose=False))
    assert ("np.dot(W1, X, Z1)" in t.source) == bool(cfg.get("blas"))
    start = t.params
    losses = t.fit(X, Y, steps=6)
    expected, final = ref_train(start, X, Y, cfg, 6, _lr_function(cfg))
    np.testing.assert_allclose(losses, expected, rtol=1e-9, atol=1e-12)
    for (W, b), (We, be) in zip(t.params, final):
        np.testing.assert_allclose(W, We, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, be, rtol=1e-9, atol=1e-12)


def test_minibatches_follow_the_trainer_order_and_continue_across_fits():
    cfg = dict(sizes=[2, 4, 1], activation="tanh", output_activation="linear", loss="mse")
    X, labels = small_data(10)
    Y = labels[:, None] * 1.0
    t = plain(symdiff.mlp_trainer(**cfg, seed=5, batch_size=4, verbose=False))
    start = t.params
    # the order the trainer draws: one shuffle of the 10 samples per epoch of 10//4 = 2 steps
    rng = np.random.default_rng([5, 1])
    batches = []
    for _ in range(4):
        perm = rng.permutation(10)
        batches += [perm[0:4], perm[4:8]]
    losses = np.concatenate([t.fit(X, Y, steps=4), t.fit(X, Y, steps=4)])
    ref_a, mid = ref_train(start, X, Y, cfg, 4, lambda s, n: 0.1, batches[:4])
    ref_b, _ = ref_train(mid, X, Y, cfg, 4, lambda s, n: 0.1, batches[4:])
    np.testing.assert_allclose(losses, np.concatenate([ref_a, ref_b]), rtol=1e-9)


def test_runs_are_deterministic_and_seeds_differ():
    cfg = dict(sizes=[2, 3, 1], activation="tanh", loss="mse", batch_size=3, verbose=False)
    X, labels = small_data(9)
    runs = [plain(symdiff.mlp_trainer(**cfg, seed=s)).fit(X, labels * 1.0, 5) for s in (0, 0, 1)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


# -- gradients --------------------------------------------------------------------------------
def _finite_differences(t, X, Y, h=1e-6):
    params = t.params
    out = []
    for k, (W, b) in enumerate(params):
        grads = []
        for a in (W, b):
            g = np.zeros_like(a)
            for idx in np.ndindex(a.shape):
                old = a[idx]
                a[idx] = old + h
                t.params = params
                up = t.loss_and_grads(X, Y, python=True)[0]
                a[idx] = old - h
                t.params = params
                down = t.loss_and_grads(X, Y, python=True)[0]
                a[idx] = old
                g[idx] = (up - down) / (2 * h)
            grads.append(g)
        out.append(grads)
    t.params = params
    return out


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[3], CASES[5], CASES[7]],
                         ids=["mse", "logistic", "softmax", "formula", "unrolled-softmax"])
def test_gradient_matches_finite_differences(case):
    cfg = dict(case)
    X, labels = small_data(7, cfg["sizes"][0], seed=2)
    Y = targets_for(cfg["loss"], labels, cfg["sizes"][-1], np.random.default_rng(4))
    t = symdiff.mlp_trainer(**cfg, seed=1, verbose=False)
    loss, grads = t.loss_and_grads(X, Y, python=True)
    numeric = _finite_differences(t, X, Y)
    for (dW, db), (nW, nb) in zip(grads, numeric):
        np.testing.assert_allclose(dW, nW, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(db, nb, rtol=1e-5, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
       activation=st.sampled_from(["tanh", "sigmoid", "x*sigmoid(x)", "softplus(x)", "linear"]),
       output_activation=st.sampled_from(["linear", "tanh"]),
       loss=st.sampled_from(["mse", "logistic", "log(1 + (s - y)**2)"]),
       l2=st.sampled_from([0.0, 0.1]), seed=st.integers(0, 100))
def test_gradient_of_random_nets_matches_finite_differences(sizes, activation, output_activation,
                                                          loss, l2, seed):
    t = symdiff.mlp_trainer(sizes, activation=activation, output_activation=output_activation,
                            loss=loss, l2=l2, seed=seed, verbose=False)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, sizes[0]))
    Y = np.sign(rng.normal(size=(3, sizes[-1]))) if loss == "logistic" else rng.normal(size=(3, sizes[-1]))
    _, grads = t.loss_and_grads(X, Y, python=True)
    for (dW, db), (nW, nb) in zip(grads, _finite_differences(t, X, Y)):
        np.testing.assert_allclose(dW, nW, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(db, nb, rtol=1e-5, atol=1e-6)


def unrolled_loss_formula(sizes, act, out_act, X, Y):
    """The loss of a whole tiny net on fixed samples, as one symdiff program (sum of squares)."""
    lines = []
    L = len(sizes) - 1
    for s, (x, y) in enumerate(zip(X, Y)):
        h = [repr(float(v)) for v in x]
        for k in range(1, L + 1):
            f = out_act if k == L else act
            new = []
            for j in range(sizes[k]):
                terms = " + ".join(f"w{k}_{j}_{i}*{h[i]}" for i in range(sizes[k - 1]))
                lines.append(f"z{k}_{j}_s{s} = {terms} + b{k}_{j}")
                lines.append(f"h{k}_{j}_s{s} = {f}(z{k}_{j}_s{s})")
                new.append(f"h{k}_{j}_s{s}")
            h = new
        lines.append(f"e_s{s} = ({h[0]} - {float(y)!r})**2")
    lines.append("loss = " + " + ".join(f"e_s{s}" for s in range(len(X))))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lecture_trainers():
    """The micrograd lecture config, compiled: loops and fully unrolled."""
    cfg = dict(activation="tanh", output_activation="tanh", loss="mse", reduction="sum", lr=0.1,
               seed=0, verbose=False)
    return {u: symdiff.mlp_trainer([3, 4, 4, 1], unroll=u, **cfg).compile() for u in (False, True)}


LECTURE_X = np.array([[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]])
LECTURE_Y = np.array([1.0, -1.0, -1.0, 1.0])


@pytest.mark.parametrize("unroll", [False, True], ids=["loops", "unrolled"])
def test_gradient_matches_core_differentiator_on_the_unrolled_loss(lecture_trainers, unroll):
    t = lecture_trainers[unroll]
    d = symdiff.differentiate(unrolled_loss_formula([3, 4, 4, 1], "tanh", "tanh", LECTURE_X, LECTURE_Y))
    point = {}
    for k, (W, b) in enumerate(t.params, 1):
        for j in range(W.shape[0]):
            point[f"b{k}_{j}"] = b[j]
            for i in range(W.shape[1]):
                point[f"w{k}_{j}_{i}"] = W[j, i]
    value, *grad = d.python.value_and_grad(*(point[k] for k in d.inputs))   # plain Python
    grad = dict(zip(d.wrt, grad))
    loss, grads = t.loss_and_grads(LECTURE_X, LECTURE_Y)     # compiled
    assert loss == pytest.approx(value, rel=1e-12)
    for k, (dW, db) in enumerate(grads, 1):
        for j in range(dW.shape[0]):
            assert db[j] == pytest.approx(grad[f"b{k}_{j}"], rel=1e-10, abs=1e-14)
            for i in range(dW.shape[1]):
                assert dW[j, i] == pytest.approx(grad[f"w{k}_{j}_{i}"], rel=1e-10, abs=1e-14)


def test_micrograd_lecture_run_compiled_equals_plain_python_and_reference(lecture_trainers):
    runs = {}
    for unroll, t in lecture_trainers.items():
        start = t.params
        runs[unroll] = t.fit(LECTURE_X, LECTURE_Y, steps=20)
        t.params = start
        runs[unroll, "python"] = plain(_clone(t)).fit(LECTURE_X, LECTURE_Y, steps=20)
    cfg = dict(activation="tanh", output_activation="tanh", loss="mse", reduction="sum")
    expected, _ = ref_train(lecture_trainers[False].params, LECTURE_X, LECTURE_Y[:, None], cfg,
                            20, lambda s, n: 0.1)
    for key, losses in runs.items():
        np.testing.assert_allclose(losses, expected, rtol=1e-9)
    assert expected[-1] < 0.05 < expected[0]


def _clone(t):
    c = symdiff.mlp_trainer(**dict(t.settings, verbose=False))
    c.params = t.params
    return c


# -- a compiled moons-like trainer: numba == python, divergence, save/load, export ------------
@pytest.fixture(scope="module")
def hinge_trainer():
    return symdiff.mlp_trainer([2, 6, 5, 1], activation="relu", loss="hinge", l2=1e-4,
                               lr="1.0 - 0.9*step/steps", seed=0, batch_size=16, verbose=False).compile()


def test_compiled_minibatch_training_equals_plain_python(hinge_trainer):
    X, labels = datasets.moons(40)
    y = np.where(labels > 0, 1.0, -1.0)
    t = hinge_trainer
    twin = plain(_clone(t))
    twin.params = t.params
    twin._shuffle.bit_generator.state = t._shuffle.bit_generator.state
    np.testing.assert_allclose(t.fit(X, y, steps=7), twin.fit(X, y, steps=7), rtol=1e-12)
    np.testing.assert_allclose(t.predict(X), twin.predict(X), rtol=1e-12)


def test_compiled_blas_layers_equal_plain_python():
    pytest.importorskip("scipy", reason="BLAS layers need SciPy (the optional extra 'blas')")
    X, labels = small_data(20, 3)
    t = symdiff.mlp_trainer([3, 5, 3], activation="tanh", loss="softmax_ce", blas=True, l2=1e-3,
                            optimizer="adam", lr=0.01, batch_size=8, verbose=False).compile()
    twin = plain(_clone(t))
    twin.params = t.params
    np.testing.assert_allclose(t.fit(X, labels % 3, 5), twin.fit(X, labels % 3, 5), rtol=1e-12)


def test_cli_trains_prints_and_writes_source(hinge_trainer, tmp_path, capsys):
    from symdiff.cli import main
    hinge_trainer.module   # the CLI's config below prints the same source: compiled once
    out = tmp_path / "trainer_source.py"
    code = main(["mlp", "--sizes", "2,6,5,1", "--activation", "relu", "--loss", "hinge",
                 "--l2", "1e-4", "--lr", "1.0 - 0.9*step/steps", "--batch-size", "16",
                 "--data", "moons", "--samples", "40", "--steps", "30", "--quiet",
                 "--source", str(out), "--save", str(tmp_path / "t.npz")])
    text = capsys.readouterr().out
    assert code == 0 and "accuracy after the last update:" in text and "loss:" in text
    assert out.read_text() == hinge_trainer.source
    assert symdiff.load_trainer(str(tmp_path / "t.npz")).steps_done == 30


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "2,4,1", "--data", "spirl"], "did you mean 'spiral'"),
    (["--sizes", "3,4,1", "--data", "moons"], "2 input columns but --sizes starts with 3"),
    (["--sizes", "2,4,1", "--data", "spiral"], "for 2 classes; the data has 3"),
    (["--sizes", "2,x,1"], "comma-separated integers"),
    (["--sizes", "2,4,1", "--data", "missing.npz"], "not found"),
])
def test_cli_errors(argv, message, capsys):
    from symdiff.cli import main
    assert main(["mlp", *argv, "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_cli_reads_npz_and_csv_and_explains_missing_matplotlib(tmp_path, capsys, monkeypatch):
    from symdiff.cli import main
    from symdiff.cli_mlp import load_data
    X, labels = datasets.xor(16)
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    Xa, ya, is_labels = load_data(str(tmp_path / "d.npz"))
    assert np.array_equal(Xa, X) and np.array_equal(ya, labels) and not is_labels
    (tmp_path / "d.csv").write_text("a,b,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, labels)))
    Xc, yc, _ = load_data(str(tmp_path / "d.csv"))
    np.testing.assert_allclose(Xc, X) and np.testing.assert_array_equal(yc, labels)
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # as if not installed
    assert main(["mlp", "--sizes", "2,4,1", "--plot", str(tmp_path / "l.png"), "--quiet"]) == 2
    assert "needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "l.png").exists()


def test_predict_shapes_and_targets_of_shape_n_or_n1(hinge_trainer):
    X, labels = datasets.moons(20)
    y = np.where(labels > 0, 1.0, -1.0)
    assert hinge_trainer.predict(X).shape == (20, 1)
    a, b = _clone(hinge_trainer), _clone(hinge_trainer)
    a._module = b._module = hinge_trainer.module
    assert np.array_equal(a.fit(X, y, 3, batch_size=None), b.fit(X, y[:, None], 3, batch_size=None))


def test_divergence_stops_naming_the_step(hinge_trainer):
    t = _clone(hinge_trainer)
    t._module = hinge_trainer.module
    X, labels = datasets.moons(40)
    y = np.where(labels > 0, 1.0, -1.0)
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+") as info:
        t.fit(X * 1e150, y, steps=50, batch_size=None)
    assert not np.isfinite(info.value.losses[-1]) and info.value.step == len(info.value.losses) - 1
    assert np.all(np.isfinite(info.value.losses[:-1]))


def test_save_and_load_continue_identically(hinge_trainer, tmp_path):
    X, labels = datasets.moons(40)
    y = np.where(labels > 0, 1.0, -1.0)
    t = _clone(hinge_trainer)
    t._module = hinge_trainer.module
    t.fit(X, y, 5)
    t.save(tmp_path / "t.npz")
    u = symdiff.load_trainer(tmp_path / "t.npz", verbose=False)
    assert u.source == t.source and u.steps_done == 5
    u._module = hinge_trainer.module   # the same tier as t: bit for bit
    np.testing.assert_array_equal(t.fit(X, y, 5), u.fit(X, y, 5))


def test_export_is_a_standalone_module(hinge_trainer, tmp_path):
    import subprocess
    X, labels = datasets.moons(40)
    t = hinge_trainer
    path = tmp_path / "trainer_export.py"
    t.export(path)
    text = path.read_text()
    assert "import symdiff" not in text and "from symdiff" not in text
    np.save(tmp_path / "X.npy", X)
    script = ("import numpy as np, trainer_export as m\n"
              "X = np.load('X.npy')\n"
              "np.save('scores.npy', m.scores(X))\n"
              "np.save('predict.npy', m.predict(m.PARAMS, X))   # rows, like Trainer.predict\n"
              "for bad in (X[0], X[:, :1], np.hstack([X, X]), X[:0]):   # a 1-D row, wrong widths, empty\n"
              "    try:\n"
              "        m.scores(bad)\n"
              "    except ValueError as exc:\n"
              "        assert 'expected (n_samples, 2)' in str(exc), exc\n"
              "    else:\n"
              "        raise SystemExit(f'scores accepted shape {bad.shape}')\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True,
                   env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy"), t.predict(X), rtol=1e-12)
    np.testing.assert_allclose(np.load(tmp_path / "predict.npy"), t.predict(X), rtol=1e-12)


# -- generated source -------------------------------------------------------------------------
GOLDEN_CONFIG = dict(sizes=[2, 4, 1], activation="relu", loss="hinge", l2=1e-4,
                     lr="1.0 - 0.9*step/steps", seed=0)


def test_source_matches_golden_file():
    t = symdiff.mlp_trainer(**GOLDEN_CONFIG, verbose=False)
    path = os.path.join(GOLDEN, "mlp_moons_small.py")
    if os.environ.get("SYMDIFF_UPDATE_GOLDEN"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(t.source)
    with open(path, encoding="utf-8") as f:
        assert t.source == f.read(), "generated source changed; review and rerun with SYMDIFF_UPDATE_GOLDEN=1"


def test_source_is_deterministic_and_compiles_as_python():
    a = symdiff.mlp_trainer([2, 3, 2], activation="x*sigmoid(x)", loss="softmax_ce", optimizer="adam")
    b = symdiff.mlp_trainer([2, 3, 2], activation="x*sigmoid(x)", loss="softmax_ce", optimizer="adam")
    assert a.source == b.source
    compile(a.source, "<mlp>", "exec")
    for name in ("def forward", "def loss_and_grads", "def update", "def train", "# backward"):
        assert name in a.source


def test_formula_temporaries_never_clash_with_trainer_names():
    t = symdiff.mlp_trainer([2, 3, 1], activation="n = sigmoid(x); loss = x*n", loss="w = s - y; w*w")
    X, labels = small_data(5)
    ref = ref_loss_and_grads(t.params, X, labels[:, None] * 1.0,
                             dict(activation="x*sigmoid(x)", output_activation="linear", loss="mse"))
    loss, grads = t.loss_and_grads(X, labels * 1.0, python=True)
    assert loss == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(grads[0][0], ref[1][0][0], rtol=1e-10)


# -- bad input: clear errors, nothing compiled --------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(activation="tahn"), "(?s)unknown activation 'tahn'.*did you mean 'tanh'"),
    (dict(output_activation="x*y"), "uses 'y'; it may use only x"),
    (dict(loss="mae"), "unknown loss 'mae'"),
    (dict(loss="(s - t)**2"), "uses 't'; it may use only s and y"),
    (dict(loss="y*y"), "does not use 's'"),
    (dict(lr="0.1*epoch"), "uses 'epoch'; it may use only step and steps"),
    (dict(lr=-1.0), "lr must be"),
    (dict(optimizer="rmsprop"), "unknown optimizer"),
    (dict(init="normal"), "unknown init"),
    (dict(reduction="avg"), "unknown reduction"),
    (dict(l2=float("nan")), "l2 must be"),
    (dict(sizes=[2]), "at least an input and an output"),
    (dict(sizes=[2, 0, 1]), "positive integers"),
    (dict(sizes=[2, 64, 64, 1], unroll=True), "unroll=True refused"),
    (dict(sizes=[2, 4, 1], loss="softmax_ce"), "at least 2 outputs"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(activation="tanh(x"), "line 1"),
])
def test_bad_configs_raise_formula_errors(kwargs, match):
    args = dict(sizes=[2, 4, 1])
    args.update(kwargs)
    with pytest.raises(FormulaError, match=match):
        symdiff.mlp_trainer(**args)


@pytest.mark.parametrize("what, X, y, match", [
    ("wrong X width", np.zeros((5, 3)), np.ones(5), r"X has shape \(5, 3\); expected \(n_samples, 2\)"),
    ("NaN in X", np.array([[0.0, np.nan]] * 5), np.ones(5), "X holds NaN or inf"),
    ("inf in y", np.zeros((5, 2)), np.array([1, 1, np.inf, 1, 1.0]), "y holds NaN or inf"),
    ("wrong y length", np.zeros((5, 2)), np.ones(4), r"y has shape \(4,\)"),
    ("hinge targets", np.zeros((5, 2)), np.array([0, 2, 0, 1, 1.0]), "expects targets \\+1 or -1"),
    ("empty", np.zeros((0, 2)), np.ones(0), "no samples"),
])
def test_bad_data_raises_before_compiling(what, X, y, match):
    t = symdiff.mlp_trainer([2, 4, 1], loss="hinge", verbose=False)
    with pytest.raises(FormulaError, match=match):
        t.fit(X, y, steps=3)
    assert t._tiers._compiled is None and not t._tiers._jobs   # nothing queued either


def test_bad_labels_steps_and_params():
    t = symdiff.mlp_trainer([2, 4, 3], loss="softmax_ce", verbose=False)
    X = np.zeros((4, 2))
    with pytest.raises(FormulaError, match=r"labels must be in 0..2"):
        t.fit(X, np.array([0, 1, 2, 3]), steps=2)
    with pytest.raises(FormulaError, match="integers"):
        t.fit(X, np.array([0, 1, 0.5, 1]), steps=2)
    with pytest.raises(FormulaError, match="steps must be a positive integer"):
        t.fit(X, np.array([0, 1, 2, 1]), steps=0)
    with pytest.raises(FormulaError, match=r"W1 has shape \(2, 4\), expected \(4, 2\)"):
        t.params = [(np.zeros((2, 4)), np.zeros(4)), (np.zeros((3, 4)), np.zeros(3))]
    with pytest.raises(FormulaError, match="2 \\(W, b\\) pairs"):
        t.params = [(np.zeros((4, 2)), np.zeros(4))]
    assert t._tiers._compiled is None and not t._tiers._jobs   # nothing queued either


def test_params_round_trip_and_initializations():
    t = symdiff.mlp_trainer([3, 5, 2], seed=7)
    (W1, b1), (W2, b2) = t.params
    assert W1.shape == (5, 3) and b1.shape == (5,) and W2.shape == (2, 5)
    assert np.all(np.abs(W1) <= 1) and np.any(b1 != 0)
    t.params = [(W1 * 0 + 0.5, b1), (W2, b2)]
    assert np.all(t.params[0][0] == 0.5)
    he = symdiff.mlp_trainer([300, 200, 1], init="he", seed=0).params[0]
    assert np.std(he[0]) == pytest.approx(math.sqrt(2 / 300), rel=0.05) and not he[1].any()
    xa = symdiff.mlp_trainer([300, 200, 1], init="xavier", seed=0).params[0][0]
    assert np.abs(xa).max() <= math.sqrt(6 / 500)


def test_datasets_are_deterministic_and_labelled():
    for name in datasets.DATASETS:
        X, labels = datasets.load(name, 60, seed=3)
        X2, labels2 = datasets.load(name, 60, seed=3)
        assert X.shape == (60, 2) and np.array_equal(X, X2) and np.array_equal(labels, labels2)
        assert labels.min() == 0 and labels.dtype.kind == "i"
    assert datasets.load("spiral", 90)[1].max() == 2
    with pytest.raises(FormulaError, match="did you mean 'moons'"):
        datasets.load("moon")
