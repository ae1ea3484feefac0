"""``Trainer.export``: one standalone module (numpy + numba only) with the trained params.

The module is the generated training code as printed by ``codegen.mlp``, followed by a
short footer: it compiles the functions with ``numba.njit``, holds the parameters (exact:
every float is printed with ``repr``) and offers ``fit(X, y, steps)`` and ``scores(X)`` on
rows of samples.
"""
from .mlp import COMPILED

FOOTER = '''

# -- standalone use (written by symdiff's Trainer.export) --------------------------------
import numba

for _name in {compiled!r}:
    if _name in globals():
        globals()[_name] = numba.njit(cache=True, error_model="numpy")(globals()[_name])
for _name in {helpers!r}:
    if _name in globals():
        globals()[_name] = numba.njit(cache=True, error_model="numpy")(globals()[_name])

SIZES = {sizes!r}
LOSS = {loss!r}
PARAMS = ({params})
STATE = ({state})      # optimizer state ({optimizer})
STEPS_DONE = [{steps_done}]


_predict_columns = predict   # the compiled kernel: X[feature, sample] -> S[output, sample]


def _columns(X):
    """Rows X (n, {n_in}) -> X[feature, sample], with a clear error for any other shape."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1 and SIZES[0] == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != SIZES[0] or X.shape[0] == 0:
        raise ValueError(f"X has shape {{X.shape}}; expected (n_samples, {{SIZES[0]}}): one row per sample")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds NaN or inf")
    return np.ascontiguousarray(X.T)


def fit(X, y, steps, batch_size=None, seed=0):
    """Train PARAMS in place on rows X (n, {n_in}) and targets y; returns the losses.

    Minibatches (batch_size) are shuffled with numpy's default_rng(seed), one shuffle
    per epoch; an epoch drops the n % batch_size samples left over."""
    X = _columns(X)
    n = X.shape[1]
    if LOSS == "softmax_ce":
        Y = np.asarray(y).reshape(-1)
        if Y.shape != (n,) or np.any(Y != np.round(Y)) or Y.min() < 0 or Y.max() >= SIZES[-1]:
            raise ValueError(f"y must be {{n}} integer labels in 0..{{SIZES[-1] - 1}}")
        Y = np.ascontiguousarray(Y.astype(np.int64))
    else:
        Y = np.asarray(y, dtype=np.float64)
        if Y.shape not in ((n, SIZES[-1]),) + (((n,),) if SIZES[-1] == 1 else ()):
            raise ValueError(f"y has shape {{Y.shape}}; expected ({{n}}, {{SIZES[-1]}})")
        Y = np.ascontiguousarray(Y.reshape(n, SIZES[-1]).T)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, not {{steps!r}}")
    if batch_size is None or batch_size >= n:
        batch_size, order = 0, np.zeros((0, 0), np.int64)
    else:
        rng = np.random.default_rng(seed)
        epochs = -(-steps // (n // batch_size))
        order = np.array([rng.permutation(n) for _ in range(epochs)], dtype=np.int64)
        X = np.asfortranarray(X)   # a sample's features adjacent, as train's batch gather reads them
    losses = np.empty(steps)
    done = train(PARAMS, *STATE, X, Y, order, batch_size, steps, STEPS_DONE[0], losses, 0)
    STEPS_DONE[0] += done
    if done < steps:
        raise ArithmeticError(f"training diverged at step {{done}}: the loss is {{losses[done]}}")
    return losses


def predict(params, X):
    """Outputs of the net with ``params`` for rows X (n, {n_in}): shape (n, {n_out}), as
    symdiff's Trainer.predict."""
    return np.ascontiguousarray(_predict_columns(params, _columns(X)).T)


def scores(X):
    """Outputs of the net for rows X (n, {n_in}): shape (n, {n_out})."""
    return predict(PARAMS, X)


if __name__ == "__main__":
    print(__doc__)
'''


def _array(a):
    return f"np.array({a.tolist()!r})"


def export_source(trainer):
    from symdiff.functions import HELPERS
    params = ",\n          ".join(_array(p) for p in trainer._params)
    if trainer._state:
        groups = []
        for group in trainer._state:
            groups.append("(" + ", ".join(_array(a) for a in group) + ",)")
        state = ",\n         ".join(groups) + ","
    else:
        state = ""
    footer = FOOTER.format(compiled=COMPILED, helpers=tuple(HELPERS), sizes=trainer.sizes,
                           loss=trainer.config.loss.name, params=params + ",", state=state,
                           optimizer=trainer.config.optimizer, steps_done=trainer.steps_done,
                           n_in=trainer.sizes[0], n_out=trainer.sizes[-1])
    return trainer.source.rstrip() + "\n" + footer
