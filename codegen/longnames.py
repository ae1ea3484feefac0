"""Very long names, shortened in compiled kernel modules only.

LLVM truncates value names past 1,024 characters, so two Numba arguments whose names share
their first thousand characters (an input named with 5,000 letters and its gradient)
collide: "redefinition of argument". A kernel module therefore names every variable longer
than ``LIMIT`` characters ``_sd_long<k>`` (the ``_sd_`` prefix is reserved: no user name
can clash), in order of first use, so the same program gives the same bytes. The readable
source (``Derivative.source``) keeps the user's names; results are keyed by them too.
"""
import dataclasses

from symdiff.expr import Ex

LIMIT = 200


def shorten(program):
    """``program`` with every name over LIMIT characters replaced (itself if none is)."""
    names = list(program.inputs) + list(program.grads) + [program.output] + \
        [line.target for line in program.forward + program.backward]
    if all(len(n) <= LIMIT for n in names):
        return program
    mapping = {}
    for n in names:
        if len(n) > LIMIT and n not in mapping:
            mapping[n] = f"_sd_long{len(mapping)}"
    name = lambda n: mapping.get(n, n)   # noqa: E731

    def ex(e):
        if e is None:
            return None
        if e.op == "var":
            return Ex("var", name(e.args[0]))
        if e.op == "num":
            return e
        if e.op == "call":
            return Ex("call", e.args[0], *(ex(a) for a in e.args[1:]))
        return Ex(e.op, *(ex(a) if isinstance(a, Ex) else a for a in e.args))

    def line(l):
        return dataclasses.replace(l, target=name(l.target), expr=ex(l.expr), local=ex(l.local),
                                   upstream=name(l.upstream) if l.upstream else l.upstream,
                                   rule=l.rule if len(l.rule) <= LIMIT else l.rule[:LIMIT] + "...")

    return dataclasses.replace(
        program, inputs=tuple(map(name, program.inputs)), wrt=tuple(map(name, program.wrt)),
        output=name(program.output), grads=tuple(map(name, program.grads)),
        forward=tuple(map(line, program.forward)), backward=tuple(map(line, program.backward)))
