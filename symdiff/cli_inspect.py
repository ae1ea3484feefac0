"""``symdiff show | trace | graph | stats``: look at what symdiff generates."""
import sys

from .api import differentiate
from .errors import FormulaError

CIRCUIT = '"1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"'
POINT = "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"


def register(sub, formatter):
    p = sub.add_parser(
        "show", formatter_class=formatter, help="print the generated source, highlighted on a terminal",
        description="Print the readable forward/backward Python that symdiff generates for FORMULA. "
                    "Colours are used only on a terminal, and never when NO_COLOR is set.",
        epilog="examples:\n"
               f"  symdiff show {CIRCUIT}\n"
               '  symdiff show "q = a*x + b; f = tanh(q)" --wrt a,b\n'
               '  symdiff show "sigmoid(a*x + b)" --color never > neuron.py')
    _formula_args(p)
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the source: auto (terminals only), always, never (default: auto)")
    p.set_defaults(func=run_show)

    p = sub.add_parser(
        "trace", formatter_class=formatter, help="watch backprop: every line's value, local and upstream gradient",
        description="Evaluate the generated program at one point, line by line: each forward line with its "
                    "value, then each backward line with its local gradient, the upstream gradient and "
                    "their product (as in CS231n's sigmoid circuit).",
        epilog="examples:\n"
               f"  symdiff trace {CIRCUIT} --at {POINT}\n"
               '  symdiff trace "(x + y)*z" --at x=-2,y=5,z=-4\n'
               '  symdiff trace "sigmoid(a*x + b*y + c)" --at a=1,b=2,c=-3,x=-1,y=3 --digits 4')
    _formula_args(p)
    p.add_argument("--at", required=True, help="the point: name=value,name=value,...")
    p.add_argument("--digits", type=int, default=2, help="decimals to print (default: 2)")
    p.set_defaults(func=run_trace)

    p = sub.add_parser(
        "graph", formatter_class=formatter, help="draw the computation graph (Graphviz DOT, SVG, PNG)",
        description="Print the computation graph as Graphviz DOT text, or draw it with -o FILE "
                    "(.svg, .png, .pdf need the Graphviz 'dot' program; .dot always works). With --at, "
                    "every node shows its value and gradient.",
        epilog="examples:\n"
               f"  symdiff graph {CIRCUIT} --at {POINT} -o circuit.svg\n"
               f"  symdiff graph {CIRCUIT} > circuit.dot\n"
               '  symdiff graph "tanh(tanh(tanh(x*w + b)))" --max-nodes 50 -o deep.png')
    _formula_args(p)
    p.add_argument("--at", help="show values and gradients at this point: name=value,...")
    p.add_argument("-o", "--output", help="write to this file; the suffix picks the format (.dot .svg .png .pdf)")
    p.add_argument("--max-nodes", type=int, default=None,
                   help="show at most this many nodes, nearest the output (default: 200)")
    p.set_defaults(func=run_graph)

    p = sub.add_parser(
        "stats", formatter_class=formatter, help="the cost report: nodes, op counts, SymPy comparison",
        description="Count the graph's nodes and the generated forward and backward operations, give "
                    "their ratio next to the cheap-gradient bound of 3, and the size of SymPy's own "
                    "derivative of the whole formula (count_ops after cse), computed under a time limit.",
        epilog="examples:\n"
               f"  symdiff stats {CIRCUIT}\n"
               '  symdiff stats "x1 = sin(x0*x0 + x0); x2 = sin(x1*x1 + x1); x3 = sin(x2*x2 + x2)"\n'
               '  symdiff stats "tanh(w*x + b)" --time-limit 2')
    _formula_args(p)
    p.add_argument("--time-limit", type=float, default=10.0,
                   help="seconds SymPy may take before symdiff gives up on it (default: 10; 0 skips it)")
    p.set_defaults(func=run_stats)


def _formula_args(p):
    p.add_argument("formula", help="formula or program text (statements separated by ';' or newlines)")
    p.add_argument("--wrt", help="comma-separated inputs to differentiate with respect to (default: all)")


def run_show(args):
    d = differentiate(args.formula, wrt=args.wrt)
    color = None if args.color == "auto" else args.color == "always"
    d.show(color=color)
    return 0


def run_trace(args):
    from .cli import parse_point
    from .inspection import trace
    if args.digits < 0 or args.digits > 17:
        raise FormulaError(f"--digits must be between 0 and 17, got {args.digits}")
    d = differentiate(args.formula, wrt=args.wrt)
    t = trace(d.program, parse_point(args.at), d.python)
    text = t.format(digits=args.digits)
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = t.format(digits=args.digits, arrow="->").replace("×", "x")
    print(text)
    return 0


def run_graph(args):
    from .cli import parse_point
    from codegen.dot import GraphvizNotFound
    if args.max_nodes is not None and args.max_nodes < 1:
        raise FormulaError(f"--max-nodes must be at least 1, got {args.max_nodes}")
    d = differentiate(args.formula, wrt=args.wrt)
    point = parse_point(args.at) if args.at else {}
    picture = d.dot(point) if args.max_nodes is None else d.dot(point, max_nodes=args.max_nodes)
    if not args.output:
        print(picture.source, end="")
        return 0
    try:
        picture.render(args.output)
    except ValueError as exc:
        raise FormulaError(str(exc), hint="use -o graph.svg, graph.png, graph.pdf or graph.dot") from None
    except GraphvizNotFound as exc:
        fallback = args.output.rsplit(".", 1)[0] + ".dot"
        picture.save(fallback)
        print(f"symdiff: error: {exc}; wrote the DOT text to {fallback}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"symdiff: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


def run_stats(args):
    from .inspection import stats
    if not 0 <= args.time_limit <= 86400:   # also refuses nan (and inf, 1e10: timers overflow)
        raise FormulaError(f"--time-limit must be 0 to 86400 seconds, got {args.time_limit:g}")
    d = differentiate(args.formula, wrt=args.wrt)
    print(stats(d.program, d.graph, d.root, args.time_limit, d.kernels))
    return 0
