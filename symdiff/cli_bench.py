"""``symdiff bench``: run the project's benchmarks (``python -m benchmarks``) from a checkout.

The benchmarks compare against torch, JAX, CasADi, SymPy and micrograd, so they live in the
source tree (``benchmarks/``), not in the installed package; this command finds them next
to the ``symdiff`` package of an editable install, or in the current directory.
"""
import os
import subprocess
import sys

from .errors import FormulaError


def register(sub, formatter):
    p = sub.add_parser(
        "bench", formatter_class=formatter, help="run the benchmarks (python -m benchmarks)",
        description="Run every benchmark of the project: writes benchmarks/RESULTS.md and "
                    "RESULTS.png (and with 'stress', benchmarks/STRESS.md). Arguments are "
                    "passed to 'python -m benchmarks'; needs a source checkout.",
        epilog="examples:\n"
               "  symdiff bench                 # formulas + MLP trainer (a few minutes)\n"
               "  symdiff bench --quick         # smoke run, writes RESULTS-quick.md\n"
               "  symdiff bench stress          # the stress suite -> benchmarks/STRESS.md\n"
               "  symdiff bench -- --help       # every option of python -m benchmarks")
    p.add_argument("args", nargs="*", metavar="ARG", help="passed to python -m benchmarks")
    p.add_argument("--quick", action="store_true", help="smoke run (fewer repeats, small sizes)")
    p.set_defaults(func=run)


def checkout():
    """The source checkout holding ``benchmarks/``, or None."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (here, os.getcwd()):
        if os.path.isfile(os.path.join(root, "benchmarks", "__main__.py")):
            return root
    return None


def run(args):
    root = checkout()
    if root is None:
        raise FormulaError("symdiff bench needs the benchmarks/ folder of a source checkout",
                           hint="clone the repository, 'pip install -e .' there, and run it again")
    argv = list(args.args) + (["--quick"] if args.quick else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    return subprocess.call([sys.executable, "-m", "benchmarks", *argv], cwd=root, env=env)
