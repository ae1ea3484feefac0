"""Inline a differentiated formula (an activation in ``x``, a loss in ``s`` and ``y``) into
generated trainer code, under names chosen by the caller.

The core gives a ``Program`` of forward and backward lines for, say, ``x*sigmoid(x)``. A
trainer needs those same lines inside its own loops, with ``x`` standing for
``Z1[j, s]``, the seed ``df = 1`` replaced by the upstream gradient ``dH1[j, s]``, and the
input's gradient ``dx`` written to ``dZ1[j, s]``. The formula's own temporaries keep their
names (``t1``, ``dt1``), renamed with a trailing ``_`` only if they clash with a name the
trainer uses.
"""
from symdiff.expr import var

from .printer import pyexpr


class Inlined:
    """Printed lines of one formula: ``forward`` and ``backward`` lists of (code, comment)."""

    def __init__(self, forward, backward, value, calls):
        self.forward = forward
        self.backward = backward
        self.value = value        # printed expression holding the formula's value
        self.calls = calls        # functions the lines call (for HELPERS)


def is_identity(program):
    """True for ``x`` itself (a linear activation): no lines, the output is the input."""
    return not program.forward and program.output in program.inputs


def _seed_target(program):
    """Name of the gradient variable seeded with 1.0 (d<output>), or None."""
    for line in program.backward:
        if line.rule.startswith("seed"):
            return line.target
    return None


def inline(program, inputs, grad_targets, seed, output=None, reserved=(), forward_only=False,
           backward_only=False):
    """Print ``program`` with ``inputs`` ({name: Ex}) substituted.

    grad_targets: {input name: printed target} for the gradients the caller wants;
    seed: Ex of the upstream gradient (d loss / d formula output);
    output: printed target for the formula's value (None keeps it a scalar temporary);
    backward_only: the forward lines the backward needs are recomputed, except the
    output line, whose value the caller already stored in ``output``.
    """
    taken = set(reserved)
    rename = {}
    locals_ = [l.target for l in program.forward] + [l.target for l in program.backward]
    seed_name = _seed_target(program)
    grads = dict(zip(program.wrt, program.grads))
    grad_of_input = {grads[name]: target for name, target in grad_targets.items()}
    for name in locals_:
        if name in rename or name in grad_of_input or name == seed_name:
            continue
        if name == program.output and output is not None:
            continue
        new = name
        while new in taken:
            new += "_"
        taken.add(new)
        rename[name] = new

    mapping = {name: ex for name, ex in inputs.items()}
    mapping.update({old: var(new) for old, new in rename.items()})
    if output is not None and program.output not in program.inputs:
        mapping[program.output] = var(output)
    if seed_name is not None:
        mapping[seed_name] = seed

    calls = set()

    def show(ex):
        ex = ex.substitute(mapping)
        calls.update(ex.calls())
        return pyexpr(ex)

    forward = []
    lines = program.forward
    if backward_only:
        needed = set()
        for line in program.backward:
            needed |= line.expr.variables()
        keep = []
        for line in reversed(lines):
            if line.target in needed and line.target != program.output:
                keep.append(line)
                needed |= line.expr.variables()
        lines = tuple(reversed(keep))
    for line in lines:
        target = (output if (line.target == program.output and output is not None)
                  else rename[line.target])
        forward.append((f"{target} = {show(line.expr)}", None))
    value = show(var(program.output))

    backward = []
    if not forward_only:
        for line in program.backward:
            if line.target == seed_name and line.rule.startswith("seed"):
                if seed_name in grad_of_input:        # the formula is its input: f = x
                    backward.append((f"{grad_of_input[seed_name]} = {pyexpr(seed)}",
                                     "the value is the input itself"))
                continue
            if line.target in grad_of_input:
                target = grad_of_input[line.target]
            else:
                target = rename.get(line.target, line.target)
            op = "+=" if line.accumulate else "="
            backward.append((f"{target} {op} {show(line.expr)}", line.rule or None))
    return Inlined(forward, backward, value, calls)
