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


def fit(X, y, steps, batch_size=None, seed=0):
    """Train PARAMS in place on rows X (n, {n_in}) and targets y; returns the losses.

    Minibatches (batch_size) are shuffled with numpy's default_rng(seed), one shuffle
    per epoch; an epoch drops the n % batch_size samples left over."""
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(len(X), -1).T)
    if LOSS == "softmax_ce":
        Y = np.ascontiguousarray(np.asarray(y).reshape(-1).astype(np.int64))
    else:
        Y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(X.shape[1], -1).T)
    n = X.shape[1]
    if batch_size is None or batch_size >= n:
        batch_size, order = 0, np.zeros((0, 0), np.int64)
    else:
        rng = np.random.default_rng(seed)
        epochs = -(-steps // (n // batch_size))
        order = np.array([rng.permutation(n) for _ in range(epochs)], dtype=np.int64)
    losses = np.empty(steps)
    done = train(PARAMS, *STATE, X, Y, order, batch_size, steps, STEPS_DONE[0], losses, 0)
    STEPS_DONE[0] += done
    if done < steps:
        raise ArithmeticError(f"training diverged at step {{done}}: the loss is {{losses[done]}}")
    return losses


def scores(X):
    """Outputs of the net for rows X (n, {n_in}): shape (n, {n_out})."""
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(len(X), -1).T)
    return np.ascontiguousarray(predict(PARAMS, X).T)


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
