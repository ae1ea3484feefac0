"""The one exception symdiff raises for anything a user typed or passed wrong."""


class FormulaError(ValueError):
    """Bad formula text or bad inputs: says what is wrong, where, and how to fix it.

    ``line`` and ``column`` are 1-based positions in the formula text (``None`` when the
    problem is not tied to a place, e.g. a missing input at call time); ``hint`` is a
    short fix-it suggestion.
    """

    def __init__(self, message, text=None, line=None, column=None, hint=None):
        self.message = message
        self.text = text
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self._render())

    def _render(self):
        parts = []
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        parts.append(where + self.message)
        if self.text is not None and self.line:
            lines = self.text.splitlines() or [""]
            if 1 <= self.line <= len(lines):
                src = lines[self.line - 1]
                if len(src) > 120:  # show a window around the column on long lines
                    start = max(0, (self.column or 1) - 60)
                    src, col = src[start:start + 120], (self.column or 1) - start
                else:
                    col = self.column or 1
                src = "".join(c if c.isprintable() else "\ufffd" for c in src)  # no raw control chars
                parts.append("    " + src)
                parts.append("    " + " " * (col - 1) + "^")
        if self.hint:
            parts.append("hint: " + self.hint)
        return "\n".join(parts)


class FormulaWarning(UserWarning):
    """Something in a formula that is probably not meant: e.g. a statement whose value
    never reaches the output (it is left out of the generated code)."""
