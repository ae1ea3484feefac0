"""``symdiff grad``: print the generated source, evaluate at a point, check it."""
from .api import check, differentiate


def register(sub, formatter):
    p = sub.add_parser(
        "grad", formatter_class=formatter, help="print gradient source, or evaluate it at a point",
        description="Differentiate FORMULA. Prints the readable forward/backward source, or with "
                    "--at the value and gradient at a point (and --check compares with finite differences).",
        epilog="examples:\n"
               '  symdiff grad "sigmoid(a*x + b*y + c)" --wrt a,b,c\n'
               '  symdiff grad "sigmoid(a*x + b*y + c)" --at a=1,b=2,c=-3,x=-1,y=3 --check\n'
               '  symdiff grad "q = a*x + b; f = tanh(q)" -o neuron_grad.py')
    p.add_argument("formula", help="formula or program text (statements separated by ';' or newlines)")
    p.add_argument("--wrt", help="comma-separated inputs to differentiate with respect to (default: all)")
    p.add_argument("--at", help="evaluate at a point: name=value,name=value,...")
    p.add_argument("--check", action="store_true", help="with --at: compare with central finite differences")
    p.add_argument("-o", "--output", help="write the source to this file instead of printing it")
    p.set_defaults(func=run)


def run(args):
    from .cli import parse_point
    d = differentiate(args.formula, wrt=args.wrt)
    if args.at is None:
        if args.check:
            from .errors import FormulaError
            raise FormulaError("--check needs a point", hint="add --at a=1,b=2,...")
        if args.output:
            exporter = getattr(d, "export", None)
            if exporter is not None:
                exporter(args.output)
            else:
                from codegen.files import write_file
                write_file(args.output, d.source)
            print(f"wrote {args.output}")
        else:
            print(d.source, end="")
        return 0
    point = parse_point(args.at)
    value, grad = d(**point)
    print(f"{d.program.output} = {value!r}")
    for name in d.wrt:
        print(f"d{d.program.output}/d{name} = {grad[name]!r}")
    if args.check:
        report = check(d, **point)
        return 0 if report.ok else 1
    return 0
