"""``mlp_trainer``: generated, readable, compiled training code for a fixed MLP.

    >>> t = symdiff.mlp_trainer([2, 16, 16, 1], activation="relu", loss="hinge", l2=1e-4,
    ...                         lr="1.0 - 0.9*step/steps", seed=0)
    >>> print(t.source)                  # forward, loss, backward, update: plain Python
    >>> losses = t.fit(X, y, steps=100)  # every step inside one compiled call
    >>> scores = t.predict(X)            # (n, n_out)

This module holds the user-facing side: checking every argument and array (all before
anything compiles), initial parameters, minibatch order, progress, save/load. The code is
printed by ``codegen.mlp`` (imported lazily; Numba is imported only when a trainer first
runs). Activations and formula losses are differentiated by the core and inlined.
"""
import difflib
import json
import math
import re
import sys
from dataclasses import dataclass

import numpy as np

from .errors import FormulaError
from .names import bad_character

ACTIVATIONS = {"tanh": "tanh(x)", "relu": "relu(x)", "sigmoid": "sigmoid(x)", "linear": "x"}
LOSSES = {"mse": "(s - y)**2", "hinge": "relu(1 - y*s)", "logistic": "softplus(-y*s)",
          "softmax_ce": None}
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("uniform", "he", "xavier")
REDUCTIONS = ("mean", "sum")
UNROLL_LIMIT = 200   # parameters; fully unrolled code compiles in time growing fast with size
_NAME = re.compile(r"^[A-Za-z_]\w*$")


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or inf; ``step`` is where, ``losses`` the losses up to it."""

    def __init__(self, step, losses):
        self.step = step
        self.losses = losses
        value = losses[-1]
        super().__init__(
            f"training diverged at step {step}: the loss is {value} (was {losses[-2]:.6g} at "
            f"step {step - 1})" if len(losses) > 1 else
            f"training diverged at step {step}: the loss is {value}")
        self.args = (str(self) + "; the parameters are those before step "
                     f"{step}'s update. Try a smaller lr.",)


@dataclass(frozen=True)
class Piece:
    """An activation, a loss or a learning-rate schedule: its name, formula and program."""
    name: str
    text: str
    program: object = None    # symdiff.reverse.Program; None for softmax_ce


@dataclass(frozen=True)
class Config:
    """Everything that decides the generated code (and nothing else)."""
    sizes: tuple
    hidden: Piece
    output: Piece
    loss: Piece
    l2: float
    l2_weights_only: bool
    lr: object                # float, or Piece for a formula in step and steps
    optimizer: str
    momentum: float
    beta1: float
    beta2: float
    eps: float
    reduction: str
    unroll: bool
    blas_layers: tuple = ()   # layers (1-based) whose products go through np.dot (BLAS)


# -- checking arguments -------------------------------------------------------------------
def _choice(value, options, what):
    if value not in options:
        close = difflib.get_close_matches(str(value), options, 1)
        raise FormulaError(f"unknown {what} {value!r}",
                           hint=(f"did you mean {close[0]!r}? " if close else "")
                           + f"choose one of: {', '.join(options)}")
    return value


def _number(value, what, low=None, high=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise FormulaError(f"{what} must be a number, not {value!r:.40}")
    value = float(value)
    if not math.isfinite(value) or (low is not None and (value < low or (low_open and value == low))) \
            or (high is not None and value >= high):
        rng = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'})"
        raise FormulaError(f"{what} must be a finite number in {rng}, got {value!r}")
    return value


def _formula(text, allowed, what, example, must_use):
    """Differentiate ``text`` with respect to ``must_use``; only ``allowed`` names."""
    from .api import differentiate
    if bad_character(text) is not None:   # before it reaches any message or code
        raise FormulaError(f"the {what} formula holds a control character: {text!r:.80}",
                           hint="formulas hold printable characters only")
    d = differentiate(text, wrt=[n for n in must_use if n in _names(text)] or None)
    names = d.program.inputs
    other = [n for n in names if n not in allowed]
    if other:
        raise FormulaError(f"the {what} formula {text!r} uses {', '.join(map(repr, other))}; "
                           f"it may use only {' and '.join(allowed)}", hint=f"for example {example}")
    missing = [n for n in must_use if n not in names]
    if missing:
        raise FormulaError(f"the {what} formula {text!r} does not use {missing[0]!r}",
                           hint=f"for example {example}")
    return d.program


def printed(program, limit=200):
    """The parsed formula printed back from its program: the only form of a user's formula
    text that reaches generated code (as comments and docstrings). Its raw text never does."""
    from codegen.printer import pyexpr
    env = {}
    for line in program.forward:
        env[line.target] = line.expr.substitute(env)
    out = env.get(program.output)
    text = pyexpr(out).replace("np.", "") if out is not None else program.output
    return text if len(text) <= limit else text[:limit] + " ..."


def _names(text):
    return set(re.findall(r"[A-Za-z_]\w*", text))


def _activation(value, what):
    if not isinstance(value, str):
        raise FormulaError(f"{what} must be a name or a formula in x, not {value!r:.40}",
                           hint="one of tanh, relu, sigmoid, linear, or e.g. 'x*sigmoid(x)'")
    name = value.strip()
    if name in ACTIVATIONS:
        text = ACTIVATIONS[name]
    elif _NAME.match(name) and name != "x":
        _choice(name, list(ACTIVATIONS), what)
    else:
        text = name
    program = _formula(text, ("x",), what, "'x*sigmoid(x)'", ("x",))
    if name not in ACTIVATIONS:
        name = text = printed(program)
    return Piece(name, text, program)


def _loss(value, n_out):
    if not isinstance(value, str):
        raise FormulaError(f"loss must be a name or a formula in s and y, not {value!r:.40}",
                           hint="one of " + ", ".join(LOSSES) + ", or e.g. '(s - y)**2'")
    name = value.strip()
    if name == "softmax_ce":
        if n_out < 2:
            raise FormulaError("softmax_ce needs at least 2 outputs (one score per class)",
                               hint="for two classes with one output use loss='logistic' or 'hinge'")
        return Piece(name, "log(sum(exp(s))) - s[label]")
    if name in LOSSES:
        text = LOSSES[name]
    elif _NAME.match(name) and name not in ("s", "y"):
        _choice(name, list(LOSSES), "loss")
    else:
        text = name
    program = _formula(text, ("s", "y"), "loss", "'(s - y)**2' or 'log(1 + exp(-y*s))'", ("s",))
    if name not in LOSSES:
        name = text = printed(program)
    return Piece(name, text, program)


def _lr(value):
    if isinstance(value, str):
        text = value.strip()
        try:
            return _number(float(text), "lr", 0.0, low_open=True)
        except ValueError:
            pass
        program = _formula(text, ("step", "steps"), "lr", "'1.0 - 0.9*step/steps'", ())
        text = printed(program)
        return Piece(text, text, program)
    return _number(value, "lr", 0.0, low_open=True)


def _sizes(sizes):
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise FormulaError(f"sizes must be a list of layer widths like [2, 16, 16, 1], not {sizes!r:.40}") from None
    if len(sizes) < 2:
        raise FormulaError(f"sizes needs at least an input and an output width, got {list(sizes)}",
                           hint="e.g. [2, 16, 16, 1]: 2 inputs, two hidden layers of 16, 1 output")
    for k in sizes:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise FormulaError(f"layer widths must be positive integers, got {list(sizes)}")
    return tuple(int(k) for k in sizes)


BLAS_MIN_WEIGHTS = 16384   # a layer this big runs its products through np.dot (BLAS)


def _blas_layers(sizes, blas, unroll):
    """Layers whose products use np.dot: needs SciPy (Numba's np.dot calls its BLAS)."""
    if blas not in (True, False, "auto"):
        raise FormulaError(f"blas must be True, False or 'auto', not {blas!r:.40}")
    if unroll or blas is False:
        return ()
    import importlib.util
    have_scipy = importlib.util.find_spec("scipy") is not None
    if blas == "auto":
        if not have_scipy:
            return ()
        return tuple(k for k in range(1, len(sizes)) if sizes[k] * sizes[k - 1] >= BLAS_MIN_WEIGHTS)
    if not have_scipy:
        raise FormulaError("blas=True needs SciPy (Numba's np.dot calls SciPy's BLAS)",
                           hint='pip install -e ".[blas]", or use blas="auto"')
    return tuple(range(1, len(sizes)))


def make_config(sizes, activation="relu", output_activation="linear", loss="mse", l2=0.0,
                l2_weights_only=False, lr=0.1, optimizer="sgd", momentum=0.9, beta1=0.9,
                beta2=0.999, eps=1e-8, reduction="mean", unroll=False, blas="auto"):
    sizes = _sizes(sizes)
    hidden = _activation(activation, "activation")
    output = _activation(output_activation, "output_activation")
    loss = _loss(loss, sizes[-1])
    l2 = _number(l2, "l2", 0.0)
    _choice(optimizer, OPTIMIZERS, "optimizer")
    _choice(reduction, REDUCTIONS, "reduction")
    config = Config(sizes, hidden, output, loss, l2, bool(l2_weights_only), _lr(lr), optimizer,
                    _number(momentum, "momentum", 0.0, 1.0), _number(beta1, "beta1", 0.0, 1.0),
                    _number(beta2, "beta2", 0.0, 1.0), _number(eps, "eps", 0.0, low_open=True),
                    reduction, bool(unroll), _blas_layers(sizes, blas, unroll))
    if unroll:
        n = n_params(sizes)
        if n > UNROLL_LIMIT:
            raise FormulaError(
                f"unroll=True refused for MLP{sizes}: {n} parameters, over the limit of "
                f"{UNROLL_LIMIT} (fully unrolled code takes Numba minutes to compile at this size)",
                hint="drop unroll=True: the default loop code is as fast and compiles in about a second")
    return config


def n_params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def init_params(sizes, init, rng):
    """[(W, b), ...], W[out, in]: uniform(-1, 1) for W and b (micrograd), he or xavier."""
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if init == "uniform":
            W = rng.uniform(-1.0, 1.0, (n_out, n_in))
            b = rng.uniform(-1.0, 1.0, n_out)
        elif init == "he":
            W = rng.normal(0.0, math.sqrt(2.0 / n_in), (n_out, n_in))
            b = np.zeros(n_out)
        else:
            a = math.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-a, a, (n_out, n_in))
            b = np.zeros(n_out)
        params.append((W, b))
    return params


def mlp_trainer(sizes, activation="relu", output_activation="linear", loss="mse", l2=0.0,
                l2_weights_only=False, lr=0.1, optimizer="sgd", momentum=0.9, beta1=0.9,
                beta2=0.999, eps=1e-8, seed=0, init="uniform", batch_size=None,
                reduction="mean", unroll=False, blas="auto", verbose=True):
    """A trainer for MLP(sizes[0], sizes[1:]) with generated, compiled training code.

    sizes: widths [inputs, hidden..., outputs]. activation: hidden layers; output_activation:
    the last layer (default linear). Each is tanh, relu, sigmoid, linear or a formula in x.
    loss: mse ((s - y)**2 summed over outputs), hinge (max(0, 1 - y*s), y = +1/-1; 0/1
    labels are read as -1/+1), logistic (log(1 + exp(-y*s)), likewise), softmax_ce
    (integer labels), or a formula in s and y. reduction: "mean" or "sum" over the batch. l2: l2*sum(p*p) over weights and
    biases (weights only with l2_weights_only). lr: a number or a formula in step (from 0)
    and steps. optimizer: sgd, momentum (momentum=...), adam (beta1, beta2, eps).
    init: uniform (micrograd's U(-1, 1) for weights and biases), he or xavier, from seed.
    batch_size: None for full batch, else shuffled minibatches (a shuffle per epoch, from
    seed). unroll: fully unrolled scalar code (tiny nets only). blas: "auto" runs the
    products of layers with at least BLAS_MIN_WEIGHTS weights through np.dot when SciPy
    is installed (Numba's np.dot uses SciPy's BLAS); False keeps every layer as loops (and
    an export that needs only numpy and numba). verbose: progress bar.
    """
    config = make_config(sizes, activation, output_activation, loss, l2, l2_weights_only, lr,
                         optimizer, momentum, beta1, beta2, eps, reduction, unroll, blas)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FormulaError(f"seed must be a non-negative integer, not {seed!r:.40}")
    _choice(init, INITS, "init")
    batch_size = _batch_size(batch_size)
    settings = dict(sizes=list(config.sizes), activation=activation,
                    output_activation=output_activation, loss=loss, l2=config.l2,
                    l2_weights_only=config.l2_weights_only,
                    lr=lr if isinstance(lr, str) else float(lr), optimizer=optimizer,
                    momentum=config.momentum, beta1=config.beta1, beta2=config.beta2,
                    eps=config.eps, seed=int(seed), init=init, batch_size=batch_size,
                    reduction=reduction, unroll=config.unroll, blas=blas)
    return Trainer(config, settings, bool(verbose))


def _batch_size(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise FormulaError(f"batch_size must be a positive integer or None (full batch), not {value!r:.40}")
    return int(value)


class Trainer:
    """Generated training code for one MLP config, its parameters and optimizer state."""

    def __init__(self, config, settings, verbose=True):
        self.config = config
        self.settings = settings
        self.sizes = config.sizes
        self.verbose = verbose
        self.batch_size = settings["batch_size"]
        self._source = None
        self._python = None
        self._module = None          # a module set here runs every call (tests: t.python)
        from .trainer_tiers import TrainerTiers
        self._tiers = TrainerTiers(self)
        rng = np.random.default_rng(settings["seed"])
        self._params = tuple(np.ascontiguousarray(a, dtype=np.float64)
                             for W, b in init_params(config.sizes, settings["init"], rng)
                             for a in (W, b))
        self._shuffle = np.random.default_rng([settings["seed"], 1])
        self._reset_state()

    def __repr__(self):
        c = self.config
        return (f"<symdiff MLP trainer {list(c.sizes)}: {c.hidden.name}/{c.output.name}, "
                f"loss {c.loss.name}, {c.optimizer}, {self.steps_done} steps done>")

    # -- code ------------------------------------------------------------------------------
    @property
    def source(self):
        """The generated training module: plain, readable Python."""
        if self._source is None:
            from codegen import mlp, mlp_unrolled
            self._source = (mlp_unrolled if self.config.unroll else mlp).module_source(self.config)
        return self._source

    @property
    def module(self):
        """The generated module with its functions compiled by Numba (on first use; waits
        for a compile running in the background)."""
        return self._module if self._module is not None else self._tiers.compiled()

    @property
    def python(self):
        """The same generated module run as plain Python (slow; for checking and reading)."""
        if self._python is None:
            from codegen.mlp import plain_module
            self._python = plain_module(self.source)
        return self._python

    def compile(self):
        """Compile now and wait (or load from the cache): later calls run compiled code.

        Without it, the first ``fit`` or ``predict`` runs NumPy code at once and queues the
        compile in the background; ``fit`` switches to the compiled trainer as soon as it
        is ready (``symdiff.trainer_tiers``). This compiles ``train`` for the trainer's own
        batch_size (full batch or minibatches: X's layout differs)."""
        X = np.zeros((2, self.sizes[0]))
        XT, Y = self._arrays(X, self._dummy_targets(2))
        order = np.zeros((0, 0), np.int64)
        key = "C"
        if self.batch_size is not None:
            XT, order, key = np.asfortranarray(XT), np.zeros((1, 2), np.int64), "F"
        self._tiers.compile(key, (self._params, *self._state, XT, Y, order, 0, 1, 0,
                                  np.empty(1), 0, 0))
        self.loss_and_grads(X, self._dummy_targets(2))
        return self

    def _dummy_targets(self, n):
        if self.config.loss.name == "softmax_ce":
            return np.zeros(n, np.int64)
        if self.config.loss.name in ("hinge", "logistic"):
            return np.ones((n, self.sizes[-1]))
        return np.zeros((n, self.sizes[-1]))

    # -- parameters ------------------------------------------------------------------------
    @property
    def params(self):
        """[(W1, b1), (W2, b2), ...] (copies); W has shape (n_out, n_in) like torch.nn.Linear."""
        p = self._params
        return [(p[k].copy(), p[k + 1].copy()) for k in range(0, len(p), 2)]

    @params.setter
    def params(self, value):
        """Set every parameter (copied); the optimizer state restarts from zero."""
        try:
            pairs = [tuple(pair) for pair in value]
        except TypeError:
            raise FormulaError("params must be a list of (W, b) pairs") from None
        L = len(self.sizes) - 1
        if len(pairs) != L or any(len(p) != 2 for p in pairs):
            raise FormulaError(f"params must be {L} (W, b) pairs for sizes {list(self.sizes)}")
        flat = []
        for k, (W, b) in enumerate(pairs, 1):
            for name, a, shape in ((f"W{k}", W, (self.sizes[k], self.sizes[k - 1])),
                                   (f"b{k}", b, (self.sizes[k],))):
                try:
                    a = np.array(a, dtype=np.float64, order="C", copy=True)
                except (TypeError, ValueError):
                    raise FormulaError(f"{name} is not a numeric array") from None
                if a.shape != shape:
                    raise FormulaError(f"{name} has shape {a.shape}, expected {shape}",
                                       hint="W has shape (n_out, n_in) like torch.nn.Linear")
                if not np.all(np.isfinite(a)):
                    raise FormulaError(f"{name} holds NaN or inf")
                flat.append(a)
        self._params = tuple(flat)
        self._reset_state()

    def _reset_state(self):
        zeros = lambda: tuple(np.zeros_like(p) for p in self._params)  # noqa: E731
        n = {"sgd": 0, "momentum": 1, "adam": 2}[self.config.optimizer]
        self._state = tuple(zeros() for _ in range(n))
        self.steps_done = 0

    # -- data --------------------------------------------------------------------------------
    def _arrays(self, X, y=None, what="X", fortran=False):
        """X (n, n_in) -> X[feature, sample] (C-ordered, or Fortran-ordered: rows X as given
        need no copy then); y -> Y[output, sample] or int labels."""
        n_in, n_out = self.sizes[0], self.sizes[-1]
        for name, a in ((what, X), ("y", y)):
            if isinstance(a, np.ma.MaskedArray):
                raise FormulaError(f"{name} is a masked array; training would ignore its mask",
                                   hint="drop the masked rows first (X[~mask.any(1)])")
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise FormulaError(f"{what} is not a numeric array") from None
        if X.ndim == 1 and n_in == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != n_in:
            raise FormulaError(f"{what} has shape {X.shape}; expected (n_samples, {n_in})",
                               hint=f"one row per sample, {n_in} input column{'s' if n_in > 1 else ''}")
        if X.shape[0] == 0:
            raise FormulaError(f"{what} has no samples")
        if not np.all(np.isfinite(X)):
            bad = np.argwhere(~np.isfinite(X))[0]
            raise FormulaError(f"{what} holds NaN or inf (first at row {bad[0]}, column {bad[1]})")
        XT = np.asfortranarray(X.T) if fortran else np.ascontiguousarray(X.T)
        if y is None:
            return XT, None
        n = X.shape[0]
        if self.config.loss.name == "softmax_ce":
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.shape != (n,):
                raise FormulaError(f"y has shape {y.shape}; softmax_ce expects integer labels of shape ({n},)")
            if y.dtype.kind == "f":
                if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                    raise FormulaError("softmax_ce labels must be integers 0..n_classes-1")
            elif y.dtype.kind not in "iub":
                raise FormulaError("softmax_ce labels must be integers 0..n_classes-1")
            Y = y.astype(np.int64)
            if Y.min() < 0 or Y.max() >= n_out:
                raise FormulaError(f"softmax_ce labels must be in 0..{n_out - 1} (the net has {n_out} outputs), "
                                   f"found {Y.min()}..{Y.max()}")
            return XT, np.ascontiguousarray(Y)
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise FormulaError("y is not a numeric array") from None
        shape = y.shape
        if y.ndim == 1 and n_out == 1:
            y = y[:, None]
        if y.shape != (n, n_out):
            raise FormulaError(f"y has shape {shape}; expected ({n}, {n_out})"
                               + (f" or ({n},)" if n_out == 1 else "") + f" for {n} samples of X")
        if not np.all(np.isfinite(y)):
            raise FormulaError("y holds NaN or inf")
        if self.config.loss.name in ("hinge", "logistic") and not np.all(np.abs(y) == 1.0):
            if not np.all((y == 0.0) | (y == 1.0)):
                raise FormulaError(f"{self.config.loss.name} loss expects targets +1 or -1 (or 0/1 labels)",
                                   hint="pass 2*y - 1 for labels 0/1")
            y = 2.0 * y - 1.0   # 0/1 labels: 0 -> -1 (the CLI reads them the same way)
        return XT, np.ascontiguousarray(y.T)

    def _order(self, n, steps, batch_size):
        """Minibatch order: one shuffle per epoch of the n samples, from the trainer's seed."""
        per_epoch = n // batch_size
        epochs = -(-steps // per_epoch)
        order = np.empty((epochs, n), np.int64)
        for e in range(epochs):
            order[e] = self._shuffle.permutation(n)
        return order

    # -- training ------------------------------------------------------------------------------
    def fit(self, X, y, steps, batch_size="trainer", verbose=None, report_every=None):
        """Train for `steps` steps; returns the total loss (data + L2) before each step's update.

        batch_size: None for full batch, an int for shuffled minibatches (default: the
        trainer's). Raises TrainingDiverged, naming the step, if the loss becomes NaN or inf.
        """
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise FormulaError(f"steps must be a positive integer, not {steps!r:.40}")
        steps = int(steps)
        bs = self.batch_size if batch_size == "trainer" else _batch_size(batch_size)
        # minibatches: X[feature, sample] Fortran-ordered (a sample's features adjacent, as
        # train's batch gather reads them), which rows X are as given (no copy)
        XT, Y = self._arrays(X, y, fortran=bs is not None)
        n = XT.shape[1]
        if bs is None or bs >= n:
            bs, order = 0, np.zeros((0, 0), np.int64)
            XT = np.ascontiguousarray(XT)
        else:
            order = self._order(n, steps, bs)
        verbose = self.verbose if verbose is None else verbose
        if report_every is None:
            report_every = max(1, steps // 100) if verbose else 0
        losses = np.empty(steps)
        bar = _Progress(steps, self.config.loss.name) if verbose else None
        try:   # NumPy code until the compiled trainer is ready (symdiff.trainer_tiers)
            done = self._tiers.train(self._params, self._state, XT, Y, order, bs, steps,
                                     self.steps_done, losses, bar, int(report_every))
        finally:
            if bar:
                bar.close()
        if done < steps:
            self.steps_done += done
            raise TrainingDiverged(done, losses[:done + 1].copy())
        self.steps_done += steps
        return losses

    def predict(self, X):
        """Outputs of the net (after output_activation), shape (n, n_out)."""
        XT, _ = self._arrays(X)
        return np.ascontiguousarray(self._tiers.predict(self._params, XT).T)

    def loss_and_grads(self, X, y, python=False):
        """(total loss, [(dW1, db1), ...]) at the current params, full batch."""
        XT, Y = self._arrays(X, y)
        module = self.python if python else self.module
        plain = lambda f: getattr(f, "py_func", f)   # noqa: E731  (allocation: no compile)
        grads = plain(module.new_params)()
        layers = plain(module.new_layers)(XT.shape[1])
        deltas = plain(module.new_layers)(XT.shape[1])
        loss = module.loss_and_grads(self._params, grads, XT, Y, layers, deltas)
        return float(loss), [(grads[k], grads[k + 1]) for k in range(0, len(grads), 2)]

    # -- saving ---------------------------------------------------------------------------------
    def save(self, path):
        """Write config, parameters, optimizer state and shuffle state to an .npz file."""
        arrays = {f"param_{k}": p for k, p in enumerate(self._params)}
        for s, group in enumerate(self._state):
            for k, a in enumerate(group):
                arrays[f"state_{s}_{k}"] = a
        meta = dict(settings=self.settings, steps_done=self.steps_done,
                    shuffle=self._shuffle.bit_generator.state, format=1, verbose=self.verbose)
        arrays["symdiff_trainer"] = np.array(json.dumps(meta, default=_jsonable))
        import io
        from codegen.files import write_file
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return write_file(path, buffer.getvalue())   # whole or not at all

    def export(self, path):
        """Write a standalone module with the trained params: it needs only numpy and numba
        (and SciPy if a layer uses np.dot: see ``blas`` in ``mlp_trainer``)."""
        from codegen.mlp_export import export_source
        from codegen.files import write_file
        return write_file(path, export_source(self))


def _jsonable(value):
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(f"cannot store {type(value).__name__}")


MAX_LOAD_PARAMS = 10**8   # parameters a loaded file may declare (800 MB as float64)
_SETTINGS = ("sizes", "activation", "output_activation", "loss", "l2", "l2_weights_only", "lr",
             "optimizer", "momentum", "beta1", "beta2", "eps", "seed", "init", "batch_size",
             "reduction", "unroll", "blas")


def load_trainer(path, verbose=None):
    """A trainer saved with ``Trainer.save``: same code, parameters and optimizer state.

    The file is data: its settings go through the same checks as ``mlp_trainer``'s
    arguments (formula text is parsed, never pasted into code), and every array's shape and
    dtype is read from its header and checked against the others before any is loaded.
    verbose: None keeps the saved trainer's setting."""
    import os
    import zipfile
    if isinstance(path, os.PathLike):
        path = os.fspath(path)

    def bad(why):
        return FormulaError(f"{path!r} is not a usable saved symdiff trainer: {why}",
                            hint="load a file written by Trainer.save")

    try:
        data = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise FormulaError(f"cannot read {path!r}: {exc.strerror}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise bad(f"{type(exc).__name__}: {exc}"[:200]) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise bad("it is a single .npy array, not an .npz archive")
    with data:
        try:
            headers = {k: _npy_header(data.zip, k) for k in data.files}
            meta = _load_meta(data, headers, bad)
            settings, arrays = _load_arrays(data, headers, meta, bad)
        except FormulaError:
            raise
        except (OSError, ValueError, EOFError, KeyError, TypeError, RecursionError, zipfile.BadZipFile) as exc:
            raise bad(f"{type(exc).__name__}: {exc}"[:200]) from None
    if verbose is None:
        verbose = meta.get("verbose", True)
    t = mlp_trainer(**settings, verbose=bool(verbose))
    L = len(t.sizes) - 1
    t.params = [(arrays[f"param_{2 * k}"], arrays[f"param_{2 * k + 1}"]) for k in range(L)]
    t._state = tuple(tuple(arrays[f"state_{s}_{k}"] for k in range(2 * L))
                     for s in range(len(t._state)))
    t.steps_done = meta["steps_done"]
    try:
        t._shuffle.bit_generator.state = meta["shuffle"]
    except (TypeError, ValueError, KeyError) as exc:
        raise bad(f"its shuffle state is not valid ({exc})"[:200]) from None
    return t


def _npy_header(zf, key):
    """(shape, dtype) from an .npy member's header, without reading its data."""
    with zf.open(key + ".npy") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f, max_header_size=10000)
    return shape, dtype


def _load_meta(data, headers, bad):
    if "symdiff_trainer" not in headers:
        raise bad("it has no 'symdiff_trainer' settings")
    shape, dtype = headers["symdiff_trainer"]
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * 100000:
        raise bad("its settings are not a short text")
    meta = json.loads(str(data["symdiff_trainer"]))
    if not isinstance(meta, dict) or meta.get("format") != 1 or not isinstance(meta.get("settings"), dict):
        raise bad("its settings are not symdiff trainer settings (format 1)")
    settings = meta["settings"]
    unknown = [k for k in settings if k not in _SETTINGS]
    missing = [k for k in _SETTINGS if k not in settings and k != "blas"]
    if unknown or missing:
        raise bad(f"unknown setting {unknown[0]!r}" if unknown else f"setting {missing[0]!r} is missing")
    steps = meta.get("steps_done")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps < 2**53:
        raise bad(f"steps_done is {steps!r:.40}, not a count")
    if not isinstance(meta.get("shuffle"), dict):
        raise bad("its shuffle state is missing")
    return meta


def _load_arrays(data, headers, meta, bad):
    """Check every array's header against the others and the settings, then read them."""
    settings = dict(meta["settings"])
    count = sum(1 for k in headers if k.startswith("param_"))
    if count < 2 or count % 2:
        raise bad(f"it holds {count} parameter arrays; expected (W, b) pairs")
    L = count // 2
    sizes = []
    for k in range(L):
        W, b = (headers.get(f"param_{2 * k + i}") for i in (0, 1))
        if W is None or b is None:
            raise bad(f"param_{2 * k} or param_{2 * k + 1} is missing")
        if len(W[0]) != 2 or len(b[0]) != 1 or b[0][0] != W[0][0] or (k and W[0][1] != sizes[-1]):
            raise bad(f"parameter shapes {W[0]} and {b[0]} of layer {k + 1} do not fit together"
                      + (f" or with the layer before ({sizes[-1]} outputs)" if k else ""))
        if not k:
            sizes.append(W[0][1])
        sizes.append(W[0][0])
    if settings.get("sizes") != sizes:
        raise bad(f"its settings say sizes {settings.get('sizes')!r:.60} but its arrays are for {sizes}")
    if min(sizes) < 1 or n_params(sizes) > MAX_LOAD_PARAMS:
        raise bad(f"sizes {sizes} declare {n_params(sizes)} parameters "
                  f"(the limit for a loaded file is {MAX_LOAD_PARAMS})")
    optimizer = _choice(settings.get("optimizer"), OPTIMIZERS, "optimizer")
    groups = {"sgd": 0, "momentum": 1, "adam": 2}[optimizer]
    expected = {f"param_{k}" for k in range(2 * L)} | {"symdiff_trainer"}
    expected |= {f"state_{s}_{k}" for s in range(groups) for k in range(2 * L)}
    extra, missing = sorted(set(headers) - expected), sorted(expected - set(headers))
    if extra or missing:
        raise bad(f"unexpected array {extra[0]!r}" if extra else f"array {missing[0]!r} is missing")
    arrays = {}
    for key in sorted(expected - {"symdiff_trainer"}):
        k = int(key.rsplit("_", 1)[1])
        want = headers[f"param_{k}"][0]
        shape, dtype = headers[key]
        if shape != want or dtype.kind != "f" or dtype.itemsize > 16:
            raise bad(f"array {key!r} has shape {shape} and dtype {dtype}; expected {want} float64")
        a = np.ascontiguousarray(data[key], dtype=np.float64)
        if a.shape != want or not np.all(np.isfinite(a)):
            raise bad(f"array {key!r} holds NaN or inf" if a.shape == want else f"array {key!r} is damaged")
        arrays[key] = a
    return settings, arrays

class _Progress:
    """Progress bar (tqdm when installed, else a line every 10%) fed by the compiled loop."""

    def __init__(self, steps, loss_name):
        self.steps = steps
        self.bar = None
        self.next_line = max(1, steps // 10)
        self.started = False

    def _start(self):   # on the first report, so compile time does not count as training
        self.started = True
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=self.steps, unit="step", desc="fit", leave=True)

    def __call__(self, step, loss, accuracy):
        if not self.started:
            self._start()
        done = step + 1
        info = {"loss": f"{loss:.4g}"}
        if accuracy == accuracy:
            info["acc"] = f"{accuracy:.1%}"
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(info, refresh=False)
        elif done >= self.next_line or done == self.steps:
            text = ", ".join(f"{k} {v}" for k, v in info.items())
            if "acc" in info:
                text += " (accuracy before this step's update, on its batch)"
            print(f"step {done}/{self.steps}: {text}", file=sys.stderr, flush=True)
            self.next_line = done + max(1, self.steps // 10)

    def close(self):
        if self.bar is not None:
            self.bar.close()
