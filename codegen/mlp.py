"""Readable training code for a fixed MLP, and its Numba compilation.

``module_source(config)`` prints one plain-Python module (see ``symdiff.trainer.Config``):

- ``forward``: every layer as loops over its units and inputs, one column per sample
  (``X[feature, sample]``, ``Z1[unit, sample]``) so the sample loop is innermost and
  vectorizes (widths read from the arrays: see ``LITERAL_SIZES``); a layer with at least
  ``symdiff.trainer.BLAS_MIN_WEIGHTS`` weights uses ``np.dot`` instead, when SciPy is there;
- ``loss_and_grads``: forward, the loss per sample, then backward with ``d``-names
  (``dZ2``, ``dW1``), layer by layer, in the style of the Hacker's guide;
- ``update``: the optimizer; ``train``: every step of a ``fit`` in one call, calling back
  into Python (``progress``) only every ``report_every`` steps; ``predict``.

Activations and formula losses are the core's differentiated programs, inlined
(``codegen.mlp_inline``). The same module runs as plain Python; ``compile_module`` wraps
its functions with ``numba.njit`` (the only place here that touches Numba).
``unroll=True`` configs are printed by ``codegen.mlp_unrolled`` instead.
"""
import threading
from contextlib import contextmanager

from symdiff.expr import var
from symdiff.functions import HELPERS, OPS

from .mlp_inline import inline, is_identity
from .printer import number

COMMENT_COLUMN = 52
RESERVED = {"np", "objmode", "params", "grads", "layers", "deltas", "X", "Y", "XB", "YB",
            "n", "s", "j", "i", "o", "c", "w", "acc", "loss", "dloss", "step", "steps", "lr",
            "t", "row", "rows", "epoch", "batch", "m", "total", "e", "label", "hits", "order",
            "velocity", "v", "state", "losses", "report_every", "t0", "batch_size", "done"}
# functions every trainer module holds; names a formula's temporaries must avoid
FUNCTIONS = ("learning_rate", "forward", "loss_and_grads", "update", "accuracy", "progress",
             "new_layers", "new_params", "train", "predict")
NUMBA_FASTMATH = {"loss_and_grads": {"reassoc"}}   # lets LLVM vectorize the sums over samples
# Functions inlined at Numba's IR level where called: one compiled library fewer each
# (measured for MLP(2,[64,64,1]): about 0.9 s less compile). loss_and_grads stays a call:
# inlining it into train compiled slower than linking it.
NUMBA_INLINE = {"learning_rate", "forward", "update", "accuracy", "new_layers", "new_params",
                *HELPERS}


class Code:
    """Lines of Python at an indentation depth, with aligned trailing comments."""

    def __init__(self):
        self.lines = []
        self.depth = 0

    def __call__(self, code="", comment=None):
        text = "    " * self.depth + code if code else ""
        if comment:
            text = f"{text.ljust(COMMENT_COLUMN)}  # {comment}" if len(text) < COMMENT_COLUMN \
                else f"{text}  # {comment}"
        self.lines.append(text)

    def extend(self, pairs):
        for code, comment in pairs:
            self(code, comment)

    @contextmanager
    def block(self, header, comment=None):
        self(header, comment)
        self.depth += 1
        yield
        self.depth -= 1

    def text(self):
        return "\n".join(self.lines) + "\n"


# -- names ---------------------------------------------------------------------------------
class Layout:
    """Array names of one net: Zk (pre-activation), Hk (activation), S (the outputs)."""

    def __init__(self, config):
        self.sizes = sizes = config.sizes
        self.L = L = len(sizes) - 1
        self.config = config
        self.z, self.h = {}, {}
        for k in range(1, L + 1):
            act = config.output if k == L else config.hidden
            ident = is_identity(act.program)
            if k == L:
                self.z[k] = "S" if ident else f"Z{k}"
                self.h[k] = "S"
            else:
                self.z[k] = f"Z{k}"
                self.h[k] = f"Z{k}" if ident else f"H{k}"
        self.h[0] = "X"

    def act(self, k):
        return self.config.output if k == self.L else self.config.hidden

    def blas(self, k):
        """Layer k's products through np.dot (BLAS) rather than loops."""
        return k in self.config.blas_layers

    def arrays(self):
        """Layer arrays in order (no duplicates): Z1, H1, Z2, ..., S."""
        out = []
        for k in range(1, self.L + 1):
            for name in (self.z[k], self.h[k]):
                if name not in out:
                    out.append(name)
        return out

    def units(self, name):
        for k in range(1, self.L + 1):
            if name in (self.z[k], self.h[k]):
                return self.sizes[k]
        raise KeyError(name)

    def params(self):
        return [p for k in range(1, self.L + 1) for p in (f"W{k}", f"b{k}")]


# Layer widths as literal constants (range(16)) or read from the arrays (range(W2.shape[0])).
# Measured here (moons MLP(2,[16,16,1]), lecture MLP(3,[4,4,1])): literal widths make LLVM
# fully unroll the 16-trip loops around the vectorized sample loops, 2.5x the compile time
# for no speed-up, since the sample loop is the one that vectorizes. So: read from arrays.
LITERAL_SIZES = False


def _out(sizes, k):
    return str(sizes[k]) if LITERAL_SIZES else f"W{k}.shape[0]"


def _in(sizes, k):
    return str(sizes[k - 1]) if LITERAL_SIZES else f"W{k}.shape[1]"


def _tuple(names):
    return ", ".join(names) + ("," if len(names) == 1 else "")


def _helpers(calls):
    wanted = {OPS[c].helper for c in calls if OPS[c].helper}
    return [h for h in HELPERS if h in wanted]


# -- the module ------------------------------------------------------------------------------
def module_source(config):
    """The whole training module for a validated ``config`` with loops over units
    (``config.unroll``: ``codegen.mlp_unrolled.module_source``)."""
    lay = Layout(config)
    calls = set()
    body = [learning_rate_source(config, calls), new_layers_source(lay),
            forward_source(lay, calls), loss_and_grads_source(lay, calls),
            update_source(lay), accuracy_source(lay), progress_source(),
            train_source(lay), predict_source(lay)]
    return assemble(config, body, calls, "loops over each layer's units and inputs, "
                    "one column per sample (samples innermost)")


def assemble(config, functions, calls, layout_note):
    head = [f'"""{describe(config, layout_note)}"""',
            "import numpy as np",
            "",
            "try:",
            "    from numba import objmode    # progress() is called back from compiled code",
            "except ImportError:              # plain Python: no Numba needed",
            "    from contextlib import nullcontext as objmode",
            ""]
    head += constants(config)
    parts = ["\n".join(head) + "\n"]
    parts += [HELPERS[h] + "\n" for h in _helpers(calls)]
    parts += functions
    return "\n\n".join(parts)


def describe(config, layout_note):
    sizes = config.sizes
    L = len(sizes) - 1
    acts = [config.hidden.name] * (L - 1) + [config.output.name]
    chain = " -> ".join([str(sizes[0])] + [f"{n} {a}" for n, a in zip(sizes[1:], acts)])
    if config.loss.name == "softmax_ce":
        loss = "softmax_ce: log(sum(exp(s))) - s[label], stable log-sum-exp"
    else:
        loss = f"{config.loss.name}: {config.loss.text} (per output, summed)"
    loss += ", " + ("mean over the batch" if config.reduction == "mean" else "summed over the batch")
    lines = [f"Training code for MLP({sizes[0]}, {list(sizes[1:])}), generated by symdiff.",
             "",
             f"layers:     {chain}",
             f"loss:       {loss}"]
    if config.l2:
        what = "weights" if config.l2_weights_only else "weights and biases"
        lines.append(f"            + {number(config.l2)} * (sum of squares of all {what})")
    lr = number(config.lr) if isinstance(config.lr, float) else config.lr.text
    lines.append(f"optimizer:  {config.optimizer}, lr = {lr}   (step counts from 0)")
    if config.blas_layers:
        which = ", ".join(map(str, config.blas_layers))
        lines.append(f"BLAS:       layer{'s' if len(config.blas_layers) > 1 else ''} {which} "
                     "use np.dot (under Numba that needs SciPy)")
    lines += ["",
              f"Layout: {layout_note}.",
              "X[feature, sample]; W1[out, in] like torch.nn.Linear; params = (W1, b1, W2, b2, ...).",
              "Plain Python as printed; symdiff compiles every function with numba.njit."]
    return "\n".join(lines).replace("\\", "\\\\").replace('"""', "'''")


def constants(config):
    out = []
    if config.l2:
        out.append(f"L2 = {number(config.l2)}")
    if config.optimizer == "momentum":
        out.append(f"MOMENTUM = {number(config.momentum)}")
    if config.optimizer == "adam":
        out += [f"BETA1 = {number(config.beta1)}", f"BETA2 = {number(config.beta2)}",
                f"EPS = {number(config.eps)}"]
    return out


def learning_rate_source(config, calls):
    c = Code()
    with c.block("def learning_rate(step, steps):"):
        if isinstance(config.lr, float):
            c(f'"""lr = {number(config.lr)} at every step."""')
            c(f"return {number(config.lr)}")
        else:
            program = config.lr.program
            c(f'"""lr = {config.lr.text}"""')
            taken = set(RESERVED) - {"step", "steps"}
            ins = {name: var(name) for name in program.inputs}
            lines = inline(program, ins, {}, var("1.0"), reserved=taken | set(FUNCTIONS),
                           forward_only=True)
            c.extend(lines.forward)
            calls |= lines.calls
            c(f"return {lines.value}")
    return c.text()


def new_layers_source(lay):
    c = Code()
    arrays = lay.arrays()
    with c.block("def new_layers(n):"):
        c(f'"""Empty layer arrays ({", ".join(arrays)}) for n samples."""')
        items = [f"np.empty(({lay.units(a)}, n))" for a in arrays]
        c(f"return ({_tuple(items)})")
    return c.text()


def _unpack(c, lay, grads=False, layers=True, deltas=False):
    c(f"{_tuple(lay.params())} = params")
    if grads:
        c(f"{_tuple(['d' + p for p in lay.params()])} = grads")
    if layers:
        c(f"{_tuple(lay.arrays())} = layers")
    if deltas:
        c(f"{_tuple(['d' + a for a in lay.arrays()])} = deltas")


def forward_source(lay, calls):
    c = Code()
    sizes = lay.sizes
    with c.block("def forward(params, X, layers):"):
        c('"""Every layer for the samples X[:, 0:n]; the outputs end in S."""')
        _unpack(c, lay)
        c("n = X.shape[1]")
        for k in range(1, lay.L + 1):
            act = lay.act(k)
            src, z, h = lay.h[k - 1], lay.z[k], lay.h[k]
            note = f"layer {k}: {z} = W{k} @ {src} + b{k}"
            if z != h:
                note += f", {h} = {act.name}({z})"
            if lay.blas(k):
                c(f"# {note} (np.dot: BLAS)")
                c(f"np.dot(W{k}, {src}, {z})", f"{z} = W{k} @ {src}, written in place")
            else:
                c(f"# {note}")
            with c.block(f"for j in range({_out(sizes, k)}):"):
                if lay.blas(k):
                    with c.block("for s in range(n):"):
                        c(f"{z}[j, s] += b{k}[j]")
                else:
                    with c.block("for s in range(n):"):
                        c(f"{z}[j, s] = b{k}[j]")
                    with c.block(f"for i in range({_in(sizes, k)}):"):
                        c(f"w = W{k}[j, i]")
                        with c.block("for s in range(n):"):
                            c(f"{z}[j, s] += w*{src}[i, s]")
                if z != h:
                    lines = inline(act.program, {"x": var(f"{z}[j, s]")}, {}, var("1.0"),
                                   output=f"{h}[j, s]", reserved=RESERVED | set(FUNCTIONS),
                                   forward_only=True)
                    calls |= lines.calls
                    with c.block("for s in range(n):"):
                        c.extend(lines.forward)
    return c.text()


def loss_and_grads_source(lay, calls):
    config = lay.config
    c = Code()
    L = lay.L
    with c.block("def loss_and_grads(params, grads, X, Y, layers, deltas):"):
        c('"""Total loss (data term + L2) at params for the samples X; its gradient goes to grads."""'
          if config.l2 else '"""Loss at params for the samples X; its gradient goes to grads."""')
        _unpack(c, lay, grads=True, deltas=True)
        c("n = X.shape[1]")
        c("forward(params, X, layers)")
        loss_source(c, lay, calls)
        if config.l2:
            what = "weights" if config.l2_weights_only else "weights and biases"
            c(f"# L2 penalty on the {what}: L2*sum(p*p); the sum of squares sq is taken")
            c("# in the gradient loops below, which add the penalty's gradient 2*L2*p")
            c("sq = 0.0")
        for k in range(L, 0, -1):
            backward_layer(c, lay, k, calls)
        if config.l2:
            c("loss += L2*sq")
        c("return loss")
    return c.text()


def loss_source(c, lay, calls):
    config = lay.config
    n_out = lay.sizes[-1]
    mean = config.reduction == "mean"
    if mean:
        c("dloss = 1.0/n", "mean over the batch: each sample's loss counts 1/n")
    else:
        c("dloss = 1.0", "sum over the batch")
    c("loss = 0.0")
    if config.loss.name == "softmax_ce":
        c("# loss: softmax cross-entropy of S[:, s] with the label Y[s]")
        with c.block("for s in range(n):"):
            c("m = S[0, s]", "log-sum-exp, stable: subtract the largest score")
            with c.block(f"for c in range(1, {n_out}):"):
                c("m = max(m, S[c, s])")
            c("total = 0.0")
            with c.block(f"for c in range({n_out}):"):
                c("e = np.exp(S[c, s] - m)")
                c("dS[c, s] = e")
                c("total += e")
            c("label = Y[s]")
            c("loss += np.log(total) + m - S[label, s]")
            c("# backward: d/dS[c] = softmax(S)[c] - (c == label)")
            with c.block(f"for c in range({n_out}):"):
                c("dS[c, s] = dS[c, s]/total*dloss")
            c("dS[label, s] -= dloss")
    else:
        program = config.loss.program
        single = n_out == 1
        o = "0" if single else "o"
        c(f"# loss: {config.loss.text}, with s = S[{o}, s], y = Y[{o}, s]"
          + ("" if single else ", summed over the outputs o"))
        ins = {"s": var(f"S[{o}, s]"), "y": var(f"Y[{o}, s]")}
        lines = inline(program, ins, {"s": f"dS[{o}, s]"}, var("dloss"),
                       reserved=RESERVED | set(FUNCTIONS))
        calls |= lines.calls
        outer = c.block(f"for o in range({n_out}):") if not single else _nothing()
        with outer:
            with c.block("for s in range(n):"):
                c.extend(lines.forward)
                c(f"loss += {lines.value}")
                c(f"# backward: d{program.output} = dloss")
                c.extend(lines.backward)
    if mean:
        c("loss = loss*dloss")


@contextmanager
def _nothing():
    yield


def backward_layer(c, lay, k, calls):
    config = lay.config
    sizes = lay.sizes
    z, h, src = lay.z[k], lay.h[k], lay.h[k - 1]
    act = lay.act(k)
    if z != h:
        c(f"# backward through {h} = {act.name}({z})")
        lines = inline(act.program, {"x": var(f"{z}[j, s]")}, {"x": f"d{z}[j, s]"},
                       var(f"d{h}[j, s]"), output=f"{h}[j, s]",
                       reserved=RESERVED | set(FUNCTIONS), backward_only=True)
        calls |= lines.calls
        with c.block(f"for j in range({_out(sizes, k)}):"):
            with c.block("for s in range(n):"):
                c.extend(lines.forward)
                c.extend(lines.backward)
    decay_w = " + 2*L2*W{k}[j, i]".format(k=k) if config.l2 else ""
    decay_b = f" + 2*L2*b{k}[j]" if config.l2 and not config.l2_weights_only else ""
    c(f"# backward through {z} = W{k} @ {src} + b{k}: dW{k} = d{z} @ {src}.T, db{k} = row sums of d{z}")
    sq_b = config.l2 and not config.l2_weights_only
    blas = lay.blas(k)
    if blas:
        c(f"np.dot(d{z}, {src}.T, dW{k})", f"BLAS: dW{k} = d{z} @ {src}.T, in place")
    with c.block(f"for j in range({_out(sizes, k)}):"):
        c("acc = 0.0")                       # db = row sums of dz (both layouts)
        with c.block("for s in range(n):"):
            c(f"acc += d{z}[j, s]")
        c(f"db{k}[j] = acc{decay_b}")
        if sq_b:
            c(f"sq += b{k}[j]*b{k}[j]")
        if blas:                             # dW came from np.dot: only its L2 term is left
            if config.l2:
                with c.block(f"for i in range({_in(sizes, k)}):"):
                    c(f"dW{k}[j, i] += 2*L2*W{k}[j, i]")
                    c(f"sq += W{k}[j, i]*W{k}[j, i]")
        else:
            with c.block(f"for i in range({_in(sizes, k)}):"):
                c("acc = 0.0")
                with c.block("for s in range(n):"):
                    c(f"acc += d{z}[j, s]*{src}[i, s]")
                c(f"dW{k}[j, i] = acc{decay_w}")
                if config.l2:
                    c(f"sq += W{k}[j, i]*W{k}[j, i]")
    if blas:
        if k > 1:
            c(f"np.dot(W{k}.T, d{z}, d{src})", f"BLAS: d{src} = W{k}.T @ d{z}, in place")
        return
    if k > 1:
        c(f"# d{src} = W{k}.T @ d{z}")
        with c.block(f"for i in range({_in(sizes, k)}):"):
            with c.block("for s in range(n):"):
                c(f"d{src}[i, s] = 0.0")
        with c.block(f"for j in range({_out(sizes, k)}):"):
            with c.block(f"for i in range({_in(sizes, k)}):"):
                c(f"w = W{k}[j, i]")
                with c.block("for s in range(n):"):
                    c(f"d{src}[i, s] += w*d{z}[j, s]")


def _param_loops(c, lay, k, which, body):
    """Loops over one parameter's entries: body(name) gives the lines for name[idx]."""
    sizes = lay.sizes
    if which == "W":
        with c.block(f"for j in range({_out(sizes, k)}):"):
            with c.block(f"for i in range({_in(sizes, k)}):"):
                body(f"W{k}", "[j, i]")
    else:
        with c.block(f"for j in range({_out(sizes, k)}):"):
            body(f"b{k}", "[j]")


def update_steps(opt, p, idx=""):
    """One parameter's optimizer step as (target, "=" or "-=", value) statements, ``idx``
    the element's subscript (empty for whole arrays); the compiled and the NumPy trainer
    print the same steps."""
    g, v, m = f"d{p}{idx}", f"v{p}{idx}", f"m{p}{idx}"
    if opt == "sgd":
        return [(f"{p}{idx}", "-=", f"lr*{g}")]
    if opt == "momentum":
        return [(v, "=", f"MOMENTUM*{v} + {g}"), (f"{p}{idx}", "-=", f"lr*{v}")]
    return [(m, "=", f"BETA1*{m} + (1.0 - BETA1)*{g}"),
            (v, "=", f"BETA2*{v} + (1.0 - BETA2)*{g}*{g}"),
            (f"{p}{idx}", "-=", f"lr*({m}/correction1)/(np.sqrt({v}/correction2) + EPS)")]


def update_source(lay):
    config = lay.config
    c = Code()
    opt = config.optimizer
    args = {"sgd": "params, grads, lr", "momentum": "params, grads, velocity, lr",
            "adam": "params, grads, m, v, lr, t"}[opt]
    with c.block(f"def update({args}):"):
        if opt == "sgd":
            c('"""SGD: p -= lr*dp."""')
        elif opt == "momentum":
            c('"""SGD with momentum (as torch.optim.SGD): v = MOMENTUM*v + dp; p -= lr*v."""')
        else:
            c('"""Adam (as torch.optim.Adam), t = 1, 2, ...: moments m, v; bias-corrected step."""')
        _unpack(c, lay, grads=True, layers=False)
        names = lay.params()
        if opt == "momentum":
            c(f"{_tuple(['v' + p for p in names])} = velocity")
        if opt == "adam":
            c(f"{_tuple(['m' + p for p in names])} = m")
            c(f"{_tuple(['v' + p for p in names])} = v")
            c("correction1 = 1.0 - BETA1**t")
            c("correction2 = 1.0 - BETA2**t")

        def body(p, idx):
            for target, assign, value in update_steps(opt, p, idx):
                c(f"{target} {assign} {value}")

        for k in range(1, lay.L + 1):
            _param_loops(c, lay, k, "W", body)
            _param_loops(c, lay, k, "b", body)
    return c.text()


def accuracy_source(lay):
    config = lay.config
    n_out = lay.sizes[-1]
    c = Code()
    with c.block("def accuracy(S, Y):"):
        if config.loss.name == "softmax_ce":
            c('"""Fraction of samples whose largest score is at their label."""')
            c("hits = 0")
            with c.block("for s in range(S.shape[1]):"):
                c("best = 0")
                with c.block(f"for c in range(1, {n_out}):"):
                    with c.block("if S[c, s] > S[best, s]:"):
                        c("best = c")
                with c.block("if best == Y[s]:"):
                    c("hits += 1")
            c("return hits/S.shape[1]")
        elif config.loss.name in ("hinge", "logistic"):
            c('"""Fraction of outputs whose sign matches the +1/-1 target."""')
            c("hits = 0")
            with c.block(f"for o in range({n_out}):"):
                with c.block("for s in range(S.shape[1]):"):
                    with c.block("if (S[o, s] > 0.0) == (Y[o, s] > 0.0):"):
                        c("hits += 1")
            c(f"return hits/(S.shape[1]*{n_out})")
        else:
            c('"""Not a classification loss: no accuracy (NaN)."""')
            c("return np.nan")
    return c.text()


def progress_source():
    c = Code()
    c("REPORT = [None]    # set by symdiff: a Python function (step, loss, accuracy)")
    c()
    c()
    with c.block("def progress(step, loss, accuracy):"):
        c('"""Called from compiled code (objmode) every report_every steps."""')
        with c.block("if REPORT[0] is not None:"):
            c("REPORT[0](step, loss, accuracy)")
    return c.text()


def _state_args(opt):
    return {"sgd": [], "momentum": ["velocity"], "adam": ["m", "v"]}[opt]


def train_source(lay):
    config = lay.config
    opt = config.optimizer
    sizes = lay.sizes
    softmax = config.loss.name == "softmax_ce"
    state = _state_args(opt)
    c = Code()
    args = ", ".join(["params"] + state + ["X", "Y", "order", "batch_size", "steps", "t0",
                                           "losses", "report_every", "start=0"])
    with c.block(f"def train({args}):"):
        c('"""Run `steps` training steps; losses[step] = total loss before that step\'s update.')
        c()
        c("X[feature, sample], Y[output, sample] (integer labels Y[sample] for softmax_ce).")
        c("batch_size 0: every step uses all samples. Otherwise a step uses the samples")
        c("order[epoch, b*batch_size:(b + 1)*batch_size] (a shuffle per epoch).")
        c("Returns the number of steps done: fewer than `steps` if the loss became NaN or")
        c("inf (that step's loss is in losses; its update is not applied).")
        c('start: the first step to run (a fit resumed at a later step, same step numbers)."""')
        c("n = X.shape[1] if batch_size == 0 else batch_size")
        rows = 1 in config.blas_layers   # layer 1 reads X through np.dot only: a batch can be rows
        with c.block("if batch_size:", "X comes Fortran-ordered: a sample's features adjacent"):
            if rows:
                c(f"XR = np.empty((n, {sizes[0]}))", "the batch's samples as rows, each copied whole")
                c("XB = XR.T", "X[feature, sample] for np.dot, which reads it transposed")
            else:
                c(f"XB = np.empty(({sizes[0]}, n))")
            c("YB = np.empty(n, np.int64)" if softmax else f"YB = np.empty(({sizes[-1]}, n))")
            c("batches = X.shape[1]//batch_size", "batches per epoch")
        with c.block("else:"):
            if rows:
                c("XB = np.asfortranarray(X)", "full batch: the layout of a batch's XB (one copy)")
            else:
                c("XB = np.ascontiguousarray(X)", "full batch: X comes C-ordered (no copy)")
            c("YB = Y")
            c("batches = 1")
        c("layers = new_layers(n)", "fresh arrays: Numba knows they do not overlap")
        c("deltas = new_layers(n)", "their gradients, same shapes")
        c("grads = new_params()")
        with c.block("for step in range(start, steps):"):
            with c.block("if batch_size:"):
                c("epoch, batch = step//batches, step % batches")
                c("rows = order[epoch, batch*n:(batch + 1)*n]", "this batch's samples")
                if rows:
                    with c.block("for s in range(n):", "sample by sample: X[:, row] and XR[s, :] are contiguous"):
                        c("row = rows[s]")
                        with c.block(f"for i in range({sizes[0]}):"):
                            c("XR[s, i] = X[i, row]")
                else:
                    with c.block(f"for i in range({sizes[0]}):", "row by row: X[i, row] and X[i + 1, row] share a cache line"):
                        with c.block("for s in range(n):"):
                            c("XB[i, s] = X[i, rows[s]]")
                with c.block("for s in range(n):"):
                    if softmax:
                        c("YB[s] = Y[rows[s]]")
                    else:
                        with c.block(f"for o in range({sizes[-1]}):"):
                            c("YB[o, s] = Y[o, rows[s]]")
            c("loss = loss_and_grads(params, grads, XB, YB, layers, deltas)")
            c("losses[step] = loss")
            with c.block("if not np.isfinite(loss):"):
                c("return step", "diverged: stop before a NaN/inf update")
            call = {"sgd": "update(params, grads, learning_rate(step, steps))",
                    "momentum": "update(params, grads, velocity, learning_rate(step, steps))",
                    "adam": "update(params, grads, m, v, learning_rate(step, steps), t0 + step + 1)"}
            c(call[opt])
            with c.block("if report_every and ((step + 1) % report_every == 0 or step + 1 == steps):"):
                c(f"hits = accuracy(layers[{len(lay.arrays()) - 1}], YB)", "on this step's batch")
                with c.block("with objmode():"):
                    c("progress(step, loss, hits)")
        c("return steps")
    c()
    c()
    with c.block("def new_params():"):
        c('"""Zero arrays shaped like params: (W1, b1, W2, b2, ...)."""')
        items = []
        for k in range(1, lay.L + 1):
            items += [f"np.zeros(({sizes[k]}, {sizes[k - 1]}))", f"np.zeros({sizes[k]})"]
        c(f"return ({_tuple(items)})")
    return c.text()


def predict_source(lay):
    c = Code()
    with c.block("def predict(params, X):"):
        c('"""Outputs S[output, sample] of the samples X[feature, sample]."""')
        c("layers = new_layers(X.shape[1])")
        c("forward(params, X, layers)")
        c(f"return layers[{len(lay.arrays()) - 1}]")
    return c.text()


# -- compilation ---------------------------------------------------------------------------------
_COMPILE_LOCK = threading.Lock()
COMPILED = ("learning_rate", "new_layers", "new_params", "forward", "loss_and_grads", "update",
            "accuracy", "train", "predict")


def compile_module(source):
    """Import ``source`` from the content-hashed cache and njit its functions in place.

    ``progress`` stays Python (called from ``objmode``). Compilation happens on first call;
    ``cache=True`` keeps the machine code beside the module for the next process.
    """
    with _COMPILE_LOCK:   # the background compile and the user's thread: one wraps it
        return _compile_module(source)


def _compile_module(source):
    import numba
    from . import cache
    from .compiled import OPTIONS
    module = cache.load(source)
    if getattr(module, "_symdiff_compiled", False):
        return module
    names = [h for h in HELPERS if hasattr(module, h)] + [n for n in COMPILED if hasattr(module, n)]
    for name in names:
        fn = getattr(module, name)
        opts = dict(OPTIONS)
        if name == "train":
            opts.pop("nogil")       # it calls back into Python (objmode)
        if name in NUMBA_FASTMATH:
            opts["fastmath"] = NUMBA_FASTMATH[name]
        if name in NUMBA_INLINE:
            opts["inline"] = "always"
        setattr(module, name, numba.njit(**opts)(fn))
    module._symdiff_compiled = True
    return module


def plain_module(source):
    """The same module run as plain Python (no Numba): slow, for tests and reading."""
    from . import cache
    return cache.load_plain(source)
