"""Syntax colouring of generated Python, for terminals (ANSI) and notebooks (HTML).

No dependency: Python's own ``tokenize`` splits the source; one table says which token
kind gets which colour. Generated code is small and regular (keywords, names, numbers,
comments, operators), so this is all the highlighting it needs. Colours are used only
where the caller asks for them (``use_color`` decides for terminals).
"""
import html
import io
import keyword
import os
import sys
import tokenize

# token kind -> (ANSI SGR code, CSS colour)
STYLE = {
    "keyword": ("1;35", "#8959a8"),
    "builtin": ("36", "#3e999f"),
    "defname": ("1;34", "#4271ae"),
    "number": ("33", "#f5871f"),
    "string": ("32", "#718c00"),
    "comment": ("2;37", "#8e908c"),
    "module": ("36", "#3e999f"),
}
_BUILTINS = {"abs", "range", "prange", "float", "int", "min", "max"}
_MODULES = {"np", "math", "numba"}


def use_color(stream=None):
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:   # a closed stream
        return False


def spans(source):
    """(text, kind or None) pieces that concatenate back to ``source`` exactly."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    pieces, at, previous = [], 0, None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [(source, None)]
    for tok in tokens:
        if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT, tokenize.INDENT,
                        tokenize.NEWLINE, tokenize.NL) or tok.start[0] > len(lines):
            continue
        start = offsets[tok.start[0] - 1] + tok.start[1]
        end = offsets[tok.end[0] - 1] + tok.end[1]
        if start < at:
            continue
        if start > at:
            pieces.append((source[at:start], None))
        pieces.append((source[start:end], _kind(tok, previous)))
        at = end
        previous = tok
    if at < len(source):
        pieces.append((source[at:], None))
    return pieces


def _kind(tok, previous):
    if tok.type == tokenize.COMMENT:
        return "comment"
    if tok.type == tokenize.STRING:
        return "string"
    if tok.type == tokenize.NUMBER:
        return "number"
    if tok.type == tokenize.NAME:
        if previous is not None and previous.string in ("def", "class"):
            return "defname"
        if keyword.iskeyword(tok.string):
            return "keyword"
        if tok.string in _MODULES:
            return "module"
        if tok.string in _BUILTINS:
            return "builtin"
    return None


def ansi(source):
    """``source`` with ANSI colour codes."""
    out = []
    for text, kind in spans(source):
        if kind is None:
            out.append(text)
        else:   # colour each line separately, so a pager or a cut line never bleeds colour
            code = STYLE[kind][0]
            out.append("\n".join(f"\x1b[{code}m{part}\x1b[0m" if part else part
                                 for part in text.split("\n")))
    return "".join(out)


def html_pre(source):
    """``source`` as an HTML ``<pre>`` block with inline colours (works in any notebook)."""
    out = []
    for text, kind in spans(source):
        text = html.escape(text, quote=False)
        out.append(text if kind is None else f'<span style="color:{STYLE[kind][1]}">{text}</span>')
    return ('<pre style="line-height:1.3; padding:0.5em; overflow-x:auto">'
            + "".join(out) + "</pre>")
