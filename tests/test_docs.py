"""Every example in docs/ runs, so the docs cannot rot.

``pycon`` blocks (``>>>`` lines) of a page run as one doctest, in a temporary working
directory; ``console`` blocks run each ``$ symdiff ...`` line through the real command line
(``$ python ...`` lines in a subprocess) and compare the output, with ``...`` matching
anything. Examples that draw with Graphviz are skipped where its ``dot`` program is missing.
"""
import contextlib
import doctest
import io
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

import symdiff
from symdiff.cli import main

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
PAGES = ["differentiate.md", "inspect.md", "trainer.md", "second-order.md", "fit.md"]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(page, kind):
    with open(os.path.join(DOCS, page), encoding="utf-8") as f:
        text = f.read()
    return [body for lang, body in _FENCE.findall(text) if lang == kind]


def needs_optional(page):
    if page == "fit.md":
        pytest.importorskip("scipy")
        pytest.importorskip("dask.array")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def test_every_page_has_run_examples():
    for page in PAGES:
        assert blocks(page, "pycon") or blocks(page, "console"), page
    with open(os.path.join(DOCS, "README.md"), encoding="utf-8") as f:
        index = f.read()
    assert all(page in index for page in PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_python_examples(page, in_tmp):
    needs_optional(page)
    source = "\n".join(blocks(page, "pycon"))
    if shutil.which("dot") is None:     # drawing needs Graphviz: skip just those examples
        source = re.sub(r"^(>>> .*\.render\(.*)$", r"\1  # doctest: +SKIP", source, flags=re.M)
    test = doctest.DocTestParser().get_doctest(source, {"__name__": "docs"}, page, page, 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out = io.StringIO()
    sys.path.insert(0, str(in_tmp))      # examples import the modules they export
    try:
        runner.run(test, out=out.write)
    finally:
        sys.path.remove(str(in_tmp))
    assert runner.failures == 0, out.getvalue()
    assert runner.tries > 0


def console_examples(page):
    for block in blocks(page, "console"):
        command, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    yield command, "\n".join(expected)
                command, expected = line[2:], []
            else:
                expected.append(line)
        if command:
            yield command, "\n".join(expected)


@pytest.mark.parametrize("page", PAGES)
def test_command_line_examples(page, in_tmp):
    needs_optional(page)
    examples = list(console_examples(page))
    if not examples:
        pytest.skip("no command-line examples on this page")
    if any(cmd.startswith("python ") or " --data " in cmd for cmd, _ in examples):
        # the python examples (and --data files) use what the pycon examples of the page wrote
        test_python_examples(page, in_tmp)
    checker = doctest.OutputChecker()
    for command, expected in examples:
        argv = shlex.split(command)
        if argv[0] == "symdiff":
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv[1:])
                except SystemExit as exc:
                    code = exc.code
            # progress bars go to stderr: shown only when the command fails
            got = out.getvalue() + (err.getvalue() if code else "")
        else:
            assert argv[0] == "python", command
            done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                                  cwd=in_tmp, timeout=300)
            got = done.stdout + done.stderr
        want = expected + "\n" if expected else ""
        assert checker.check_output(want, got, FLAGS), \
            f"$ {command}\n--- expected\n{want}--- got\n{got}"
