"""``symdiff hessian|jacobian|jvp|hvp``: print the generated source, or evaluate at a point
(``--at``; ``--tangent`` gives the direction of jvp/hvp) and ``--check`` it."""
from .api import check
from .errors import FormulaError

COMMANDS = {
    "hessian": ("print value/gradient/Hessian source, or evaluate it at a point",
                'symdiff hessian "sigmoid(a*x + b*y + c)" --at a=1,x=-1,b=2,y=3,c=-3 --check'),
    "jacobian": ("print the Jacobian source of a program with several outputs, or evaluate it",
                 'symdiff jacobian "r = sqrt(x*x + y*y); c = x/r; s = y/r; r, c, s" --at x=3,y=4'),
    "jvp": ("forward mode: the derivative along a tangent",
            'symdiff jvp "log(1 + exp(x*y))*tanh(x - y)" --at x=0.3,y=-0.8 --tangent x=1,y=0.5'),
    "hvp": ("Hessian times a vector",
            'symdiff hvp "(1 - x)**2 + 100*(y - x**2)**2" --at x=-1.2,y=1 --tangent x=1,y=0'),
}


def register(sub, formatter):
    for name, (help_text, example) in COMMANDS.items():
        p = sub.add_parser(name, formatter_class=formatter, help=help_text,
                           description=f"symdiff {name}: {help_text}.", epilog="example:\n  " + example)
        p.add_argument("formula", help="formula or program text (statements separated by ';' or newlines)")
        p.add_argument("--wrt", help="comma-separated inputs to differentiate with respect to (default: all)")
        if name == "jacobian":
            p.add_argument("--outputs", help="comma-separated output names (default: the final 'r, c, s')")
        p.add_argument("--at", help="evaluate at a point: name=value,name=value,...")
        if name in ("jvp", "hvp"):
            p.add_argument("--tangent", help="the direction: name=value,... for every wrt input")
        p.add_argument("--check", action="store_true", help="with --at: compare with central finite differences")
        p.add_argument("-o", "--output", help="write the source to this file instead of printing it")
        p.set_defaults(func=run, command_name=name)


def run(args):
    import symdiff
    from .cli import parse_point
    name = args.command_name
    if name == "jacobian":
        d = symdiff.jacobian(args.formula, outputs=args.outputs, wrt=args.wrt)
    else:
        d = getattr(symdiff, name)(args.formula, wrt=args.wrt)
    if args.at is None:
        if args.check or getattr(args, "tangent", None):
            raise FormulaError(f"--{'check' if args.check else 'tangent'} needs a point", hint="add --at a=1,b=2,...")
        if args.output:
            d.export(args.output)
            print(f"wrote {args.output}")
        else:
            print(d.source, end="")
        return 0
    point = parse_point(args.at)
    f = d.program.output
    if name == "hessian":
        value, grad, hess = d(**point)
        print(f"{f} = {value!r}")
        for a in d.wrt:
            print(f"d{f}/d{a} = {grad[a]!r}")
        for i, a in enumerate(d.wrt):
            for b in d.wrt[i:]:
                print(f"d2{f}/d{a}d{b} = {hess[a][b]!r}")
        at = point
    elif name == "jacobian":
        values, jac = d(**point)
        for o in d.outputs:
            print(f"{o} = {values[o]!r}")
        for o in d.outputs:
            for a in d.wrt:
                print(f"d{o}/d{a} = {jac[o][a]!r}")
        at = point
    else:
        if not args.tangent:
            raise FormulaError(f"{name} --at needs a direction", hint="add --tangent x=1,y=0.5")
        tangent = parse_point(args.tangent)
        result = d(point, tangent)
        print(f"{f} = {result[0]!r}")
        if name == "jvp":
            print(f"d{f} along ({', '.join(f'{k}={v:g}' for k, v in tangent.items())}) = {result[1]!r}")
        else:
            for a in d.wrt:
                print(f"d{f}/d{a} = {result[1][a]!r}")
            for a in d.wrt:
                print(f"(H v)[{a}] = {result[2][a]!r}")
        at = dict(point, **{n: tangent[w] for n, w in zip(d.inputs[len(d.primals):], d.wrt)})
    if args.check:
        report = check(d, **at)
        return 0 if report.ok else 1
    return 0
