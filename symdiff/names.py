"""Which characters and names a user may hand us, checked once for every entry point.

Python reads identifiers in NFKC form (``ｘ`` and ``x`` are the same variable in compiled
code), so every name that comes from outside (formula text, SymPy symbols, the parameters
of a traced function, keyword arguments of a call) is normalized here, and two inputs whose
normalized names are equal are refused rather than silently merged.

Formula text may not hold control characters, lone surrogates or format characters
(``\\r`` alone is a line break to Python, ``\\x00`` and surrogates cannot be written to a
file, bidi controls make source read differently than it runs). Only ``\\t``, ``\\n``,
``\\f`` and ``\\r\\n`` line endings are allowed.
"""
import keyword
import re
import unicodedata

from .errors import FormulaError

RESERVED = {"np", "math", "numba", "prange"}   # refused as names in formula text
RESERVED_PREFIX = "_sd_"    # ... and these: helpers bound in plain runs (codegen/powers.py)
GENERATED = RESERVED | {"range", "value", "value_and_grad", "grad_loop", "grad_ploop", "value_loop",
                        "value_ploop", "stream_copy", "stream_fence", "local_zeros", "lane_sum",
                        "pairwise_sum", "value_at", "value_and_grad_at"} | {
    f"{kind}_reduce_{loop}" for kind in ("grad", "value") for loop in ("loop", "ploop")}
# ... names generated modules use: renamed there (codegen/codenames.py)

_ASCII_BAD = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]|\r(?!\n)")


def bad_character(text):
    """Index of the first character formula text may not hold, or None."""
    m = _ASCII_BAD.search(text)
    first = m.start() if m else None
    if not text.isascii():
        for i, ch in enumerate(text if first is None else text[:first]):
            if ord(ch) > 127 and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
                return i
    return first


def check_text(text, what="formula"):
    """Raise FormulaError (with the position) if ``text`` holds a character it may not."""
    i = bad_character(text)
    if i is None:
        return text
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    ch = text[i]
    raise FormulaError(f"{what} holds the control character {ch!r} (U+{ord(ch):04X})", text, line, col,
                       "formulas hold printable characters only; use \\n or ; between statements")


def normalize(name):
    """The name as Python reads it (NFKC)."""
    return unicodedata.normalize("NFKC", name) if not name.isascii() else name


def problem(name, functions=(), strict=True):
    """Why ``name`` (already normalized) cannot be an input name, or None. Not strict:
    any identifier (generated code renames keywords and clashing names)."""
    if not isinstance(name, str) or not name.isidentifier():
        return "is not a valid name"
    if not strict:
        return None
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name.startswith("__") or name.startswith(RESERVED_PREFIX) or name in GENERATED:
        return "is reserved for generated code"
    if name in functions:
        return "is the name of a function"
    return None


def input_names(names, what, functions=(), strict=True):
    """Normalized, checked input names; refuses two that normalize to one name."""
    out, seen = [], {}
    for name in names:
        if isinstance(name, str) and bad_character(name) is not None:
            raise FormulaError(f"{what} name {name!r} holds a control character",
                               hint="use plain identifiers like x, w1, bias")
        norm = normalize(name) if isinstance(name, str) else name
        why = problem(norm, functions, strict)
        if why:
            raise FormulaError(f"{what} name {name!r} cannot be an input: it {why}",
                               hint=f"rename it, e.g. {norm}_" if why != "is not a valid name"
                               else "use plain identifiers like x, w1, bias")
        if norm in seen and seen[norm] != name:
            raise FormulaError(f"{what} names {seen[norm]!r} and {name!r} are the same name to Python "
                               f"({norm!r} after NFKC normalization)", hint="give them different names")
        seen[norm] = name
        out.append(norm)
    return out
