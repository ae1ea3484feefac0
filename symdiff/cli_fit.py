"""``symdiff fit``: fit a formula model to the columns of a CSV file."""
import csv
import math

from .errors import FormulaError


def register(sub, formatter):
    p = sub.add_parser(
        "fit", formatter_class=formatter, help="fit a formula model to data from a CSV file",
        description="Fit MODEL to the columns of a CSV file (a header row names them). Every name "
                    "in MODEL that is not a parameter is a column; the observations are the "
                    "--target column. Prints the parameters and their standard errors.",
        epilog="examples:\n"
               '  symdiff fit "b1*(1 - exp(-b2*x))" --data measurements.csv --params b1=500,b2=1e-4\n'
               '  symdiff fit "b1*(1 - exp(-b2*x))" --data m.csv --params b1=500,b2=1e-4 --plot fit.png\n'
               '  symdiff fit "a*x + b" --data m.csv --params a=1,b=0 --loss huber')
    p.add_argument("model", help="the model formula")
    p.add_argument("--data", required=True, help="CSV file with a header row")
    p.add_argument("--params", required=True, help="starting values: name=value,name=value,...")
    p.add_argument("--target", default="y", help="the column of observations (default: y)")
    p.add_argument("--weights", help="a column of standard deviations (sigma) of the observations")
    p.add_argument("--loss", default="squares", help="squares (default), absolute, huber, or a formula in r")
    p.add_argument("--method", default="auto", help="auto (default), trf, lm, dogbox, bfgs, lbfgs, adam")
    p.add_argument("--plot", help="draw data, fit and residuals to this image file (needs matplotlib)")
    p.add_argument("--plot-x", metavar="COLUMN",
                   help="the x axis of --plot when the model reads several columns (default: the first)")
    p.add_argument("--verbose", action="store_true", help="report progress on stderr")
    p.set_defaults(func=run)


def parse_params(text):
    """'b1=500,b2=1e-4' -> {'b1': 500.0, 'b2': 0.0001}."""
    params = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise FormulaError(f"--params expects name=value pairs, got {item!r}", hint="--params b1=500,b2=1e-4")
        if name in params:
            raise FormulaError(f"--params gives {name!r} twice", hint="give each parameter once")
        try:
            params[name] = float(value)
        except ValueError:
            raise FormulaError(f"--params: {value.strip()!r} is not a number (for {name!r})",
                               hint="--params b1=500,b2=1e-4") from None
    if not params:
        raise FormulaError("--params is empty", hint="--params b1=500,b2=1e-4")
    return params


def read_csv(path, use=None):
    """(header, columns): the column names of a CSV file with a header row, and the columns
    ``use`` (every column if None) as {name: [floats]}; other columns may hold anything (a
    sample label). A cell of a used column that is not a finite number is a FormulaError
    naming the file, line and column. A byte-order mark (Excel's "CSV UTF-8") is dropped; a
    header with tabs or semicolons and no comma sets the delimiter."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
        first = text.split("\n", 1)[0]
        delimiter = next((d for d in ("\t", ";") if "," not in first and d in first), ",")
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    except (OSError, UnicodeDecodeError) as exc:
        raise FormulaError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                           hint="give a CSV file with a header row") from None
    except csv.Error as exc:
        raise FormulaError(f"{path} is not a valid CSV file: {exc}",
                           hint="a header row naming the columns, then one row of numbers per point") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise FormulaError(f"{path} has no data rows", hint="the first row names the columns, the next hold numbers")
    header = [h.strip() for h in rows[0]]
    if all(_number(h) for h in header):
        raise FormulaError(f"{path}: the first row holds numbers ({', '.join(header)[:60]}), not column names",
                           hint="add a header row naming the columns, e.g. x,y")
    if any(not h for h in header) or len(set(header)) != len(header):
        raise FormulaError(f"{path}: the header row must name every column once, got {rows[0]}",
                           hint="name each column once (pandas: df.to_csv(path, index=False))")
    used = [k for k, h in enumerate(header) if use is None or h in use]
    columns = {header[k]: [] for k in used}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise FormulaError(f"{path}, line {number}: {len(row)} values for {len(header)} columns",
                               hint="every row needs one value per column of the header")
        for k in used:
            h, cell = header[k], row[k]
            try:
                value = float(cell)
            except ValueError:
                raise FormulaError(f"{path}, line {number}, column {h!r}: {cell.strip()!r} is not a number",
                                   hint="every cell below the header must be a number "
                                   "(decimal point '.', no thousands separators)") from None
            if not math.isfinite(value):
                raise FormulaError(f"{path}, line {number}, column {h!r}: {cell.strip()!r} is not a finite number",
                                   hint="delete that row from the file, or fill in the value")
            columns[h].append(value)
    return header, columns


def _check_plot(args, axes):
    """--plot's problems found before the fit: no matplotlib, an --plot-x that is not a
    data column, a directory that does not exist or cannot be written."""
    import importlib.util
    import os
    if importlib.util.find_spec("matplotlib") is None:
        raise FormulaError("--plot needs matplotlib", hint='pip install "symdiff-backprop[plot]"')
    if args.plot_x is not None and args.plot_x not in axes:
        raise FormulaError(f"--plot-x: {args.plot_x!r} is not a data column of the fit",
                           hint="data columns: " + ", ".join(axes))
    folder = os.path.dirname(os.path.abspath(args.plot))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise FormulaError(f"--plot: cannot write {args.plot}: "
                           + ("no such directory" if not os.path.isdir(folder) else "the directory is not writable"),
                           hint="give a path in an existing, writable directory")


def _number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def run(args):
    from .api import differentiate
    from .fitting import fit
    params = parse_params(args.params)
    inputs = differentiate(args.model).inputs
    needed = [args.target] + [k for k in inputs if k not in params]
    header, columns = read_csv(args.data, use=set(needed) | {args.weights})
    weights = None
    if args.weights:
        if args.weights not in columns:
            raise FormulaError(f"--weights: no column {args.weights!r} in {args.data}",
                               hint="columns: " + ", ".join(header))
        weights = columns[args.weights]
    for name in needed:
        if name not in columns:
            what = "--target column" if name == args.target else "the model's name"
            raise FormulaError(f"{what} {name!r} is not a column of {args.data}"
                               + ("" if name == args.target else " (nor a parameter)"),
                               hint="columns: " + ", ".join(header)
                               + ("" if name == args.target else f"; or give a start: --params {name}=1"))
    data = {k: columns[k] for k in needed}
    if args.plot:
        _check_plot(args, [k for k in needed if k != args.target])   # before a long fit, not after
    result = fit(args.model, data, params, target=args.target, loss=args.loss, method=args.method,
                 weights=weights, verbose=args.verbose)
    print(result)
    if args.plot:
        x = args.plot_x or next((k for k in needed if k != args.target), None)
        result.plot(x=x, path=args.plot)
        print(f"wrote {args.plot}" + ("" if len(needed) == 2 else f" (x axis: {x})"))
    return 0 if result.success and all(math.isfinite(v) for v in result.params.values()) else 1
