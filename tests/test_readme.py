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


def test_readme_trainer_snippet_defines_its_data():
    """The trainer snippet runs as written: X and y are assigned before they are used."""
    import ast
    text = README.read_text(encoding="utf-8")
    snippet = re.search(r"## Train a small MLP\n\n```python\n(.*?)```", text, re.S).group(1)
    tree = ast.parse(snippet)
    assigned = set()
    for stmt in tree.body:
        used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert not ({"X", "y"} & used) - assigned, ast.unparse(stmt)
        assigned |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
