"""The ``symdiff`` command line.

Subcommands live in their own modules, each with ``register(subparsers)`` that adds its
parser and sets ``func``; this module only assembles them and handles errors: a bad
formula exits with status 2 and a one-line message (a traceback only with ``--debug``).
"""
import argparse
import importlib
import sys

from .errors import FormulaError

SUBCOMMAND_MODULES = ["symdiff.cli_grad", "symdiff.cli_second", "symdiff.cli_inspect", "symdiff.cli_mlp",
                      "symdiff.cli_bench", "symdiff.cli_fit"]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser():
    parser = argparse.ArgumentParser(
        prog="symdiff", formatter_class=_Formatter,
        description="Differentiate formulas into readable backward code and fast Numba kernels.",
        epilog="examples:\n"
               '  symdiff grad "sigmoid(a*x + b*y + c)" --wrt a,b,c\n'
               '  symdiff grad "sigmoid(a*x + b*y + c)" --at a=1,b=2,c=-3,x=-1,y=3 --check\n'
               "run 'symdiff COMMAND --help' for each command's options and examples.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if getattr(exc, "name", None) == name:
                continue
            raise
        module.register(sub, _Formatter)
    return parser


def parse_point(text):
    """'a=1,b=2.5' -> {'a': 1.0, 'b': 2.5}."""
    point = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise FormulaError(f"--at expects name=value pairs, got {item!r}", hint="--at a=1,b=2")
        if name.strip() in point:
            raise FormulaError(f"--at gives {name.strip()!r} twice", hint="give each input once: --at a=1,b=2")
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise FormulaError(f"--at: {value!r} is not a number (for {name.strip()!r})") from None
    return point


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--debug" in argv[1:]:           # accepted after the subcommand too
        argv = ["--debug"] + [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except FormulaError as exc:
        if args.debug:
            raise
        first = str(exc).splitlines()
        hint = next((l for l in first if l.startswith("hint:")), None)
        print(f"symdiff: error: {first[0]}" + (f" ({hint})" if hint else ""), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
