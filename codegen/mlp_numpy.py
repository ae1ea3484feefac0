"""The trainer's NumPy tier: the same network's steps as whole-array NumPy code, nothing to compile.

A new trainer's first ``fit`` steps run here while its Numba trainer (``codegen.mlp``)
compiles, or loads from the cache, in the background; later steps switch to it
(``symdiff.trainer_tiers``). ``module_source(config)`` prints a module of array functions,
one statement per layer where the loop module has loops:

- ``forward(params, X)``: ``Z1 = W1 @ X + b1[:, None]``, then the activation's lines
  (the core's differentiated program, inlined as in the loop module) over the whole array;
- ``loss_and_grads(params, X, Y)``: the loss over all samples at once, then backward
  layer by layer (``dW2 = dS @ H1.T``, ``dH1 = W2.T @ dS``); returns (loss, grads, S);
- ``update``: the optimizer, in place (``W1[...] = W1 - lr*dW1``); ``accuracy(S, Y)``.

It runs through ``codegen.arraytier`` (the kinks' ``a if c else b`` become ``np.where``,
and the activations use the compiled kernels' elementwise math), so each activation and
loss value takes the same float operations as in the compiled trainer. The products and
sums over samples run through BLAS and NumPy's pairwise sums, in another order than the
compiled loops: the tiers agree to the last few bits, not bit for bit. ``train`` below
is the driver (minibatches, learning rate, progress) and mirrors the generated ``train``.
"""
import functools
import types

import numpy as np

from symdiff.expr import var

from . import arraytier
from .mlp import FUNCTIONS, RESERVED, Code, Layout, _helpers, _tuple, constants, describe, \
    learning_rate_source, update_steps
from .mlp_inline import inline

NAMES = {"cols", "sq", "dloss", "loss", "n", "m", "e", "total", "correction1", "correction2"}


def module_source(config):
    """The NumPy-tier module for a validated ``config`` (either layout: the math is the same)."""
    lay = Layout(config)
    taken = (RESERVED | set(FUNCTIONS) | NAMES | set(lay.params()) | set(lay.arrays())
             | {"d" + a for a in lay.arrays() + lay.params()}
             | {p + a for p in ("m", "v") for a in lay.params()})
    calls = set()
    body = [learning_rate_source(config, calls), forward_source(lay, calls, taken),
            loss_and_grads_source(lay, calls, taken), update_source(lay), accuracy_source(lay)]
    doc = describe(config, "whole arrays, one statement per layer (the NumPy tier)").replace(
        "symdiff compiles every function with numba.njit.",
        "symdiff runs it through codegen.arraytier, uncompiled.")
    head = [f'"""{doc}"""',
            "import numpy as np", ""] + constants(config)
    parts = ["\n".join(head) + "\n"]
    parts += [_helper_source(h) + "\n" for h in _helpers(calls)]
    return "\n\n".join(parts + body)


def _helper_source(name):
    from symdiff.functions import HELPERS
    return HELPERS[name]


def forward_source(lay, calls, taken):
    c = Code()
    with c.block("def forward(params, X):"):
        c(f'"""The layer arrays ({", ".join(lay.arrays())}) of the samples X[feature, sample]."""')
        c(f"{_tuple(lay.params())} = params")
        for k in range(1, lay.L + 1):
            z, h, src = lay.z[k], lay.h[k], lay.h[k - 1]
            c(f"{z} = W{k} @ {src} + b{k}[:, None]", f"layer {k}")
            if z != h:
                lines = inline(lay.act(k).program, {"x": var(z)}, {}, var("1.0"), output=h,
                               reserved=taken, forward_only=True)
                calls |= lines.calls
                c.extend(lines.forward)
        c(f"return ({_tuple(lay.arrays())})")
    return c.text()


def loss_and_grads_source(lay, calls, taken):
    config = lay.config
    c = Code()
    with c.block("def loss_and_grads(params, X, Y):"):
        c('"""(total loss, grads, S) at params for the samples X: grads = (dW1, db1, ...)."""')
        c(f"{_tuple(lay.params())} = params")
        c(f"{_tuple(lay.arrays())} = forward(params, X)")
        c("n = X.shape[1]")
        c("dloss = 1.0/n" if config.reduction == "mean" else "dloss = 1.0")
        if config.loss.name == "softmax_ce":
            c("# loss: softmax cross-entropy of S[:, s] with the label Y[s], stable log-sum-exp")
            c("cols = np.arange(n)")
            c("m = S.max(axis=0)")
            c("e = np.exp(S - m)")
            c("total = e.sum(axis=0)")
            c("loss = (np.log(total) + m - S[Y, cols]).sum()")
            c("dS = e/total*dloss", "softmax(S) - onehot(label), times dloss")
            c("dS[Y, cols] = dS[Y, cols] - dloss")
        else:
            c(f"# loss: {config.loss.text}, with s = S, y = Y (every output and sample at once)")
            lines = inline(config.loss.program, {"s": var("S"), "y": var("Y")}, {"s": "dS"},
                           var("dloss"), reserved=taken)
            calls |= lines.calls
            c.extend(lines.forward)
            c(f"loss = np.sum({lines.value})")
            c.extend(lines.backward)
            c("dS = dS + np.zeros(S.shape)", "a constant gradient, as an array")
        if config.reduction == "mean":
            c("loss = loss*dloss")
        if config.l2:
            c("sq = 0.0")
        for k in range(lay.L, 0, -1):
            z, h, src = lay.z[k], lay.h[k], lay.h[k - 1]
            if z != h:
                lines = inline(lay.act(k).program, {"x": var(z)}, {"x": f"d{z}"}, var(f"d{h}"),
                               output=h, reserved=taken, backward_only=True)
                calls |= lines.calls
                c(f"# backward through {h} = {lay.act(k).name}({z})")
                c.extend(lines.forward)
                c.extend(lines.backward)
                c(f"d{z} = d{z} + np.zeros({z}.shape)", "a constant gradient, as an array")
            decay_w = f" + 2*L2*W{k}" if config.l2 else ""
            decay_b = f" + 2*L2*b{k}" if config.l2 and not config.l2_weights_only else ""
            c(f"dW{k} = d{z} @ {src}.T{decay_w}", f"backward through layer {k}")
            c(f"db{k} = d{z}.sum(axis=1){decay_b}")
            if config.l2:
                c(f"sq = sq + np.sum(W{k}*W{k})"
                  + ("" if config.l2_weights_only else f" + np.sum(b{k}*b{k})"))
            if k > 1:
                c(f"d{src} = W{k}.T @ d{z}")
        if config.l2:
            c("loss = loss + L2*sq")
        c(f"return loss, ({_tuple(['d' + p for p in lay.params()])}), S")
    return c.text()


def update_source(lay):
    config = lay.config
    opt = config.optimizer
    c = Code()
    args = {"sgd": "params, grads, lr", "momentum": "params, grads, velocity, lr",
            "adam": "params, grads, m, v, lr, t"}[opt]
    names = lay.params()
    with c.block(f"def update({args}):"):
        c('"""The optimizer step, in place (as the compiled update)."""')
        c(f"{_tuple(names)} = params")
        c(f"{_tuple(['d' + p for p in names])} = grads")
        if opt == "momentum":
            c(f"{_tuple(['v' + p for p in names])} = velocity")
        if opt == "adam":
            c(f"{_tuple(['m' + p for p in names])} = m")
            c(f"{_tuple(['v' + p for p in names])} = v")
            c("correction1 = 1.0 - BETA1**t")
            c("correction2 = 1.0 - BETA2**t")
        for p in names:    # the compiled update's steps, on whole arrays, in place
            for target, assign, value in update_steps(opt, p):
                c(f"{target}[...] = {target} - {value}" if assign == "-=" else f"{target}[...] = {value}")
    return c.text()


def accuracy_source(lay):
    name = lay.config.loss.name
    c = Code()
    with c.block("def accuracy(S, Y):"):
        if name == "softmax_ce":
            c('"""Fraction of samples whose largest score is at their label."""')
            c("return float(np.mean(S.argmax(axis=0) == Y))")
        elif name in ("hinge", "logistic"):
            c('"""Fraction of outputs whose sign matches the +1/-1 target."""')
            c("return float(np.mean((S > 0.0) == (Y > 0.0)))")
        else:
            c('"""Not a classification loss: no accuracy (NaN)."""')
            c("return np.nan")
    return c.text()


# -- running it -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _numpy():
    """The ``np`` the module sees: the array tier's (the kernels' elementwise math) over
    NumPy itself (products, sums, arange, argmax...)."""
    module = types.ModuleType("symdiff_np_trainer", "NumPy with the array tier's math")
    module.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("_")})
    module.__dict__.update({k: v for k, v in vars(arraytier.namespace()).items()
                            if not k.startswith("_")})
    return module


def load(source):
    """The NumPy-tier module of ``source`` (``module_source``), rewritten by the array tier
    (its helpers over arrays; helpers that branch run element by element)."""
    module = arraytier._load(source, lambda: arraytier.transform(source), arraytier.BUILTINS,
                             "mlpnumpy", {"np": _numpy(), "math": arraytier.math_namespace()})
    for name in arraytier.scalar_only(source):
        plain = {}
        exec(compile(_helper_source(name), f"<symdiff helper {name}>", "exec"), {"np": np}, plain)   # ours
        setattr(module, name, arraytier._elementwise_any(
            lambda *args, fn=plain[name]: fn(*map(np.float64, args))))
    return module


def train(module, params, state, X, Y, order, batch_size, steps, t0, losses, report,
          report_every, start=0, switch=None):
    """Steps start, start + 1, ... of a fit, as the generated ``train`` runs them, until
    ``steps`` or until ``switch()`` says the compiled trainer is ready. Returns
    (next step, diverged): losses[step] = total loss before that step's update; a NaN or
    inf loss stops before its update (diverged)."""
    n = X.shape[1] if batch_size == 0 else batch_size
    batches = X.shape[1] // batch_size if batch_size else 1
    XB, YB = X, Y
    step = start
    with np.errstate(all="ignore"):
        while step < steps:
            if switch is not None and step > start and switch():
                return step, False
            if batch_size:
                epoch, batch = step // batches, step % batches
                rows = order[epoch, batch * n:(batch + 1) * n]
                # X comes Fortran-ordered: its samples are the rows of X.T, taken whole
                XB = X.T[rows].T if X.flags.f_contiguous else X[:, rows]
                YB = Y[rows] if Y.ndim == 1 else Y[:, rows]
            loss, grads, S = module.loss_and_grads(params, XB, YB)
            loss = float(loss)
            losses[step] = loss
            if not np.isfinite(loss):
                return step, True
            lr = module.learning_rate(step, steps)
            if state and len(state) == 2:
                module.update(params, grads, *state, lr, t0 + step + 1)
            else:
                module.update(params, grads, *state, lr)
            if report is not None and report_every and ((step + 1) % report_every == 0 or step + 1 == steps):
                report(step, loss, module.accuracy(S, YB))
            step += 1
    return step, False


def predict(module, params, X):
    """Outputs S[output, sample] of the samples X[feature, sample]."""
    with np.errstate(all="ignore"):
        return np.asarray(module.forward(params, X)[-1])
