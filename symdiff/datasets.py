"""Small deterministic 2-d classification datasets (no downloads).

Each function returns ``(X, labels)``: ``X`` of shape (n, 2), float64; ``labels`` integers
0..k-1 of shape (n,). The same arguments always give the same arrays (NumPy's
``default_rng(seed)``). ``targets(labels, loss)`` turns labels into what a loss expects.

- ``moons``: two interleaving half circles (the layout of scikit-learn's ``make_moons``,
  used by micrograd's demo);
- ``spiral``: k interleaved spiral arms (CS231n's example), k classes;
- ``xor``: four Gaussian blobs, label = sign(x0) xor sign(x1);
- ``circles``: a small circle inside a large one.
"""
import numpy as np

from .errors import FormulaError


def moons(n=100, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    n_top = n // 2
    n_bottom = n - n_top
    a = np.linspace(0.0, np.pi, n_top)
    b = np.linspace(0.0, np.pi, n_bottom)
    X = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        np.stack([1.0 - np.cos(b), 0.5 - np.sin(b)], 1)])
    labels = np.concatenate([np.zeros(n_top, np.int64), np.ones(n_bottom, np.int64)])
    X = X + noise * rng.normal(size=X.shape)
    return _shuffled(X, labels, rng)


def spiral(n=300, classes=3, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    per = [n // classes + (1 if c < n % classes else 0) for c in range(classes)]
    Xs, ls = [], []
    for c, m in enumerate(per):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, m) + noise * rng.normal(size=m)
        Xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ls.append(np.full(m, c, np.int64))
    return _shuffled(np.concatenate(Xs), np.concatenate(ls), rng)


def xor(n=200, noise=0.25, seed=0):
    rng = np.random.default_rng(seed)
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    which = np.arange(n) % 4
    X = corners[which] + noise * rng.normal(size=(n, 2))
    labels = (which >= 2).astype(np.int64)
    return _shuffled(X, labels, rng)


def circles(n=200, noise=0.05, factor=0.5, seed=0):
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    a = np.linspace(0.0, 2 * np.pi, n_out, endpoint=False)
    b = np.linspace(0.0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(a), np.sin(a)], 1),
                        factor * np.stack([np.cos(b), np.sin(b)], 1)])
    labels = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X = X + noise * rng.normal(size=X.shape)
    return _shuffled(X, labels, rng)


DATASETS = {"moons": moons, "spiral": spiral, "xor": xor, "circles": circles}


def load(name, n=None, seed=0):
    """One of DATASETS by name, with n samples (its default when None)."""
    if name not in DATASETS:
        import difflib
        close = difflib.get_close_matches(name, DATASETS, 1)
        raise FormulaError(f"unknown dataset {name!r}",
                           hint=(f"did you mean {close[0]!r}? " if close else "")
                           + "built in: " + ", ".join(DATASETS) + "; or give a .npz or .csv file")
    kwargs = {"seed": seed}
    if n is not None:
        if n < 4:
            raise FormulaError(f"a dataset needs at least 4 samples, got {n}")
        kwargs["n"] = n
    return DATASETS[name](**kwargs)


def targets(labels, loss, n_out):
    """Labels 0..k-1 -> targets for ``loss``: +1/-1 for hinge and logistic, the labels for
    softmax_ce, one-hot rows (or 0/1 for one output) for mse and formula losses."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1
    if loss == "softmax_ce":
        return labels.astype(np.int64)
    if loss in ("hinge", "logistic"):
        if n_out == 1:
            if k > 2:
                raise FormulaError(f"{loss} with one output is for 2 classes; the data has {k}",
                                   hint="use --loss softmax_ce with one output per class")
            return np.where(labels > 0, 1.0, -1.0)
        if n_out != k:
            raise FormulaError(f"the net has {n_out} outputs but the data has {k} classes")
        return np.where(np.eye(n_out)[labels] > 0, 1.0, -1.0)
    if n_out == 1:
        return labels.astype(np.float64)
    if n_out != k:
        raise FormulaError(f"the net has {n_out} outputs but the data has {k} classes")
    return np.eye(n_out)[labels]


def _shuffled(X, labels, rng):
    perm = rng.permutation(len(labels))
    return np.ascontiguousarray(X[perm]), labels[perm]
