"""The README's main example shows exactly the source symdiff prints."""
import pathlib
import re

import pytest

import symdiff

README = pathlib.Path(__file__).parent.parent / "README.md"


def test_readme_shows_the_current_source_of_the_main_example():
    text = README.read_text(encoding="utf-8")
    shown = re.search(r"`print\(d.source\)` shows:\n\n```python\n(.*?)```", text, re.S).group(1)
    d = symdiff.differentiate("q = a*x + b*y + c\nf = sigmoid(q)")
    assert shown == d.source


def test_readme_error_example_is_what_symdiff_says():
    text = README.read_text(encoding="utf-8")
    shown = re.search(r'>>> symdiff.differentiate\("sigmoid\(a\*x\) \+ tahn\(b\)"\)\n'
                      r"symdiff.errors.FormulaError: (.*?)```", text, re.S).group(1)
    with pytest.raises(symdiff.FormulaError) as info:
        symdiff.differentiate("sigmoid(a*x) + tahn(b)")
    assert str(info.value) == shown.rstrip("\n")
