"""Names as generated code may spell them: the user's where legal, renamed where not.

A program's names are the user's (``d.inputs``, the gradient dict, ``d.trace``), but some
cannot be spelled as they are in the code we print:

- names that clash with what generated code uses or is: keywords (a SymPy symbol named
  ``lambda`` or ``None``), ``np``, ``range``, ``prange``, ``value``, ``value_and_grad``,
  the loop functions, helper and function names (``sigmoid``), ``_sd_*``, ``__*``. These
  become ``lambda_``, ``range_``, ... (a free name), in every printed module and in
  ``d.source``; the user still calls ``d(range=...)``;
- in compiled kernel modules, names over ``LIMIT`` characters: LLVM truncates value names
  past 1,024 characters, so two Numba arguments sharing their first thousand characters
  (an input of 5,000 letters and its gradient) collide ("redefinition of argument").
  They become ``_sd_long<k>``; the readable source keeps them.

Kernels are called positionally, so only the printed names change. Renaming is in order of
first use: the same program gives the same bytes.
"""
import dataclasses
import keyword

from symdiff.expr import Ex
from symdiff.functions import FUNCTIONS, HELPERS
from symdiff.names import GENERATED, RESERVED_PREFIX

LIMIT = 200


def unusable(name):
    return keyword.iskeyword(name) or name in GENERATED or name in FUNCTIONS or name in HELPERS \
        or name.startswith(RESERVED_PREFIX) or name.startswith("__")


def for_code(program, shorten=True):
    """``program`` with its unprintable names replaced (itself if none is)."""
    names = list(program.inputs) + list(program.grads) + [program.output] + \
        [line.target for line in program.forward + program.backward]
    if not any(unusable(n) or (shorten and len(n) > LIMIT) for n in names):
        return program
    used = set(names)
    mapping = {}
    for n in names:
        if n in mapping:
            continue
        if shorten and len(n) > LIMIT:
            mapping[n] = _fresh(f"{RESERVED_PREFIX}long{len(mapping)}", used)
        elif unusable(n):
            mapping[n] = _fresh(n.lstrip("_") + "_" if not n.startswith(RESERVED_PREFIX)
                                else n[len(RESERVED_PREFIX):] + "_", used)
    return rename(program, mapping)


def _fresh(base, used):
    name, k = base, 1
    while name in used or (unusable(name) and not name.startswith(RESERVED_PREFIX + "long")):
        name = f"{base}{k}"
        k += 1
    used.add(name)
    return name


def rename(program, mapping):
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
