"""Fully unrolled training code for tiny MLPs (``unroll=True``): every weight has a name.

Like the Hacker's guide 2-layer net: ``z1_0 = w1_0_0*x0 + w1_0_1*x1 + b1_0``, then the
backward pass neuron by neuron, ``dw1_0_0 += x0*dz1_0``. The module has the same functions
as the loop version (``codegen.mlp``), so the trainer runs either; ``update``, ``train``
and the rest are shared. Compile time grows quickly with the number of weights, so the
trainer refuses unroll above ``symdiff.trainer.UNROLL_LIMIT`` parameters.
"""
from symdiff.expr import var

from .mlp import (FUNCTIONS, RESERVED, Code, _tuple, accuracy_source, assemble,
                  learning_rate_source, progress_source, train_source, update_source)
from .mlp_inline import inline, is_identity


class Names:
    """Scalar names of one net: x0, z1_0, h1_0, ..., out0 and the weights w1_0_0, b1_0."""

    def __init__(self, config):
        self.config = config
        self.sizes = sizes = config.sizes
        self.L = len(sizes) - 1
        self.h = {0: [f"x{i}" for i in range(sizes[0])]}
        self.z = {}
        for k in range(1, self.L + 1):
            act = config.output if k == self.L else config.hidden
            ident = is_identity(act.program)
            if k == self.L:
                self.h[k] = [f"out{j}" for j in range(sizes[k])]
                self.z[k] = self.h[k] if ident else [f"z{k}_{j}" for j in range(sizes[k])]
            else:
                self.z[k] = [f"z{k}_{j}" for j in range(sizes[k])]
                self.h[k] = self.z[k] if ident else [f"h{k}_{j}" for j in range(sizes[k])]

    def act(self, k):
        return self.config.output if k == self.L else self.config.hidden

    def w(self, k, j, i):
        return f"w{k}_{j}_{i}"

    def b(self, k, j):
        return f"b{k}_{j}"

    def all(self):
        names = set()
        for group in (self.h, self.z):
            for v in group.values():
                names |= set(v) | {"d" + n for n in v}
        for k in range(1, self.L + 1):
            for j in range(self.sizes[k]):
                names |= {self.b(k, j), "d" + self.b(k, j)}
                for i in range(self.sizes[k - 1]):
                    names |= {self.w(k, j, i), "d" + self.w(k, j, i)}
        return names


def module_source(config):
    names = Names(config)
    calls = set()
    reserved = (RESERVED | set(FUNCTIONS) | names.all() | {"best", "label", "total", "m"}
                | {f"e{o}" for o in range(config.sizes[-1])})

    class Lay:   # what the shared functions need to know
        pass
    lay = Lay()
    lay.config, lay.sizes, lay.L = config, config.sizes, names.L
    lay.params = lambda: [p for k in range(1, names.L + 1) for p in (f"W{k}", f"b{k}")]
    lay.arrays = lambda: ["S"]

    body = [learning_rate_source(config, calls), new_layers_source(config),
            forward_source(names, calls, reserved), loss_and_grads_source(names, calls, reserved),
            update_source(lay), accuracy_source(lay), progress_source(), train_source(lay),
            predict_source()]
    return assemble(config, body, calls, "fully unrolled: one named scalar per weight and "
                    "neuron, one sample at a time")


def new_layers_source(config):
    c = Code()
    with c.block("def new_layers(n):"):
        c('"""The output array S[output, sample] for n samples (the only array here)."""')
        c(f"return (np.empty(({config.sizes[-1]}, n)),)")
    return c.text()


def _weights(c, names):
    c("# every weight and bias by name: w{layer}_{unit}_{input}, b{layer}_{unit}")
    sizes = names.sizes
    for k in range(1, names.L + 1):
        for j in range(sizes[k]):
            ws = [names.w(k, j, i) for i in range(sizes[k - 1])]
            c(f"{', '.join(ws)} = {', '.join(f'W{k}[{j}, {i}]' for i in range(sizes[k - 1]))}")
        bs = [names.b(k, j) for j in range(sizes[k])]
        c(f"{', '.join(bs)} = {', '.join(f'b{k}[{j}]' for j in range(sizes[k]))}")


def _forward(c, names, calls, reserved):
    sizes = names.sizes
    xs = names.h[0]
    c(f"{', '.join(xs)} = {', '.join(f'X[{i}, s]' for i in range(sizes[0]))}")
    for k in range(1, names.L + 1):
        c(f"# layer {k}")
        act = names.act(k)
        for j in range(sizes[k]):
            terms = [f"{names.w(k, j, i)}*{names.h[k - 1][i]}" for i in range(sizes[k - 1])]
            c(f"{names.z[k][j]} = {' + '.join(terms + [names.b(k, j)])}")
            if names.z[k][j] != names.h[k][j]:
                lines = inline(act.program, {"x": var(names.z[k][j])}, {}, var("1.0"),
                               output=names.h[k][j], reserved=reserved, forward_only=True)
                calls |= lines.calls
                c.extend(lines.forward)
    for o, name in enumerate(names.h[names.L]):
        c(f"S[{o}, s] = {name}")


def forward_source(names, calls, reserved):
    c = Code()
    with c.block("def forward(params, X, layers):"):
        c('"""The outputs S[:, s] of every sample X[:, s], one neuron at a time."""')
        c(f"{_tuple([p for k in range(1, names.L + 1) for p in (f'W{k}', f'b{k}')])} = params")
        c("S, = layers")
        _weights(c, names)
        with c.block("for s in range(X.shape[1]):"):
            _forward(c, names, calls, reserved)
    return c.text()


def loss_and_grads_source(names, calls, reserved):
    config = names.config
    sizes, L = names.sizes, names.L
    params = [p for k in range(1, L + 1) for p in (f"W{k}", f"b{k}")]
    c = Code()
    with c.block("def loss_and_grads(params, grads, X, Y, layers, deltas):"):
        c('"""Total loss (data term + L2) at params for the samples X; its gradient goes to grads."""'
          if config.l2 else '"""Loss at params for the samples X; its gradient goes to grads."""')
        c(f"{_tuple(params)} = params")
        c(f"{_tuple(['d' + p for p in params])} = grads")
        c("S, = layers")
        _weights(c, names)
        c("# gradients start at zero and add up over the samples")
        for k in range(1, L + 1):
            for j in range(sizes[k]):
                ds = ["d" + names.w(k, j, i) for i in range(sizes[k - 1])] + ["d" + names.b(k, j)]
                c(" = ".join(ds) + " = 0.0")
        c("n = X.shape[1]")
        if config.reduction == "mean":
            c("dloss = 1.0/n", "mean over the batch: each sample's loss counts 1/n")
        else:
            c("dloss = 1.0", "sum over the batch")
        c("loss = 0.0")
        with c.block("for s in range(n):"):
            c("# forward")
            _forward(c, names, calls, reserved)
            outs = names.h[L]
            _loss(c, names, calls, reserved, outs)
            for k in range(L, 0, -1):
                act = names.act(k)
                if names.z[k] != names.h[k]:
                    c(f"# backward through layer {k}'s {act.name}")
                    for j in range(sizes[k]):
                        lines = inline(act.program, {"x": var(names.z[k][j])},
                                       {"x": "d" + names.z[k][j]}, var("d" + names.h[k][j]),
                                       output=names.h[k][j], reserved=reserved, backward_only=True)
                        calls |= lines.calls
                        c.extend(lines.forward)
                        c.extend(lines.backward)
                c(f"# backward through layer {k}'s weights")
                for j in range(sizes[k]):
                    dz = "d" + names.z[k][j]
                    for i in range(sizes[k - 1]):
                        c(f"d{names.w(k, j, i)} += {names.h[k - 1][i]}*{dz}")
                    c(f"d{names.b(k, j)} += {dz}")
                if k > 1:
                    for i in range(sizes[k - 1]):
                        terms = [f"{names.w(k, j, i)}*d{names.z[k][j]}" for j in range(sizes[k])]
                        c(f"d{names.h[k - 1][i]} = {' + '.join(terms)}")
        if config.reduction == "mean":
            c("loss = loss*dloss")
        decay = config.l2 != 0.0
        if decay:
            what = "weights" if config.l2_weights_only else "weights and biases"
            terms = [names.w(k, j, i) for k in range(1, L + 1) for j in range(sizes[k])
                     for i in range(sizes[k - 1])]
            if not config.l2_weights_only:
                terms += [names.b(k, j) for k in range(1, L + 1) for j in range(sizes[k])]
            c(f"# L2 penalty on the {what}: L2*sum(p*p), gradient 2*L2*p")
            c("loss += L2*(" + " + ".join(f"{t}*{t}" for t in terms) + ")")
        c("# store the gradients")
        for k in range(1, L + 1):
            for j in range(sizes[k]):
                for i in range(sizes[k - 1]):
                    w = names.w(k, j, i)
                    c(f"dW{k}[{j}, {i}] = d{w}" + (f" + 2*L2*{w}" if decay else ""))
                b = names.b(k, j)
                c(f"db{k}[{j}] = d{b}" + (f" + 2*L2*{b}" if decay and not config.l2_weights_only else ""))
        c("return loss")
    return c.text()


def _loss(c, names, calls, reserved, outs):
    config = names.config
    n_out = len(outs)
    if config.loss.name == "softmax_ce":
        c("# loss: softmax cross-entropy, stable log-sum-exp")
        c("label = Y[s]")
        c(f"m = max({', '.join(outs)})" if n_out > 1 else f"m = {outs[0]}")
        for o, out in enumerate(outs):
            c(f"e{o} = np.exp({out} - m)")
        c(f"total = {' + '.join(f'e{o}' for o in range(n_out))}")
        c("loss += np.log(total) + m - S[label, s]")
        c("# backward: d/dout = softmax - onehot(label)")
        for o, out in enumerate(outs):
            c(f"d{out} = (e{o}/total - (1.0 if label == {o} else 0.0))*dloss")
        return
    program = config.loss.program
    c(f"# loss: {config.loss.text}")
    for o, out in enumerate(outs):
        lines = inline(program, {"s": var(out), "y": var(f"Y[{o}, s]")}, {"s": "d" + out},
                       var("dloss"), reserved=reserved)
        calls |= lines.calls
        c.extend(lines.forward)
        c(f"loss += {lines.value}")
        c.extend(lines.backward)


def predict_source():
    c = Code()
    with c.block("def predict(params, X):"):
        c('"""Outputs S[output, sample] of the samples X[feature, sample]."""')
        c("layers = new_layers(X.shape[1])")
        c("forward(params, X, layers)")
        c("return layers[0]")
    return c.text()
