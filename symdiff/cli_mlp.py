"""``symdiff mlp``: train a generated MLP trainer on a built-in dataset or a file."""
import os
import sys
import zipfile

import numpy as np

from .errors import FormulaError

EXAMPLES = """examples:
  symdiff mlp --sizes 2,16,16,1 --activation relu --loss hinge --l2 1e-4 \\
              --lr "1.0 - 0.9*step/steps" --data moons --steps 100 --plot loss.png
  symdiff mlp --sizes 2,32,3 --activation tanh --loss softmax_ce --data spiral \\
              --optimizer adam --lr 0.01 --batch-size 32 --steps 2000
  symdiff mlp --sizes 2,8,1 --data xor --source trainer_source.py   # write the generated code
  symdiff mlp --sizes 4,16,3 --loss softmax_ce --data iris.csv       # last column: label

data: moons, spiral, xor, circles (generated, no downloads), or a file: .npz with arrays
X (n, n_in) and y, or .csv with one sample per row and the label/target in the last
column (a header row is skipped). For hinge and logistic, labels 0/1 become -1/+1."""


def register(sub, formatter):
    p = sub.add_parser("mlp", formatter_class=formatter, help="train a generated MLP trainer",
                       description="Generate readable training code for a fixed MLP, compile it "
                                   "with Numba and train it on a dataset.",
                       epilog=EXAMPLES)
    p.add_argument("--sizes", required=True, help="layer widths, e.g. 2,16,16,1")
    p.add_argument("--activation", default="relu", help="hidden activation: tanh, relu, sigmoid, "
                   "linear or a formula in x (default relu)")
    p.add_argument("--output-activation", default="linear", help="last layer's activation (default linear)")
    p.add_argument("--loss", default=None, help="mse, hinge, logistic, softmax_ce or a formula in s "
                   "and y (default: softmax_ce for several outputs, hinge for one)")
    p.add_argument("--reduction", default="mean", choices=["mean", "sum"], help="how the loss sums over samples (default mean)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty on weights and biases (default 0)")
    p.add_argument("--l2-weights-only", action="store_true", help="no L2 on biases")
    p.add_argument("--lr", default="0.1", help="learning rate: a number or a formula in step and steps (default 0.1)")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "momentum", "adam"], help="default sgd")
    p.add_argument("--momentum", type=float, default=0.9, help="for --optimizer momentum (default 0.9)")
    p.add_argument("--init", default="uniform", choices=["uniform", "he", "xavier"], help="initial weights (default uniform)")
    p.add_argument("--seed", type=int, default=0, help="initial weights and minibatch order (default 0)")
    p.add_argument("--batch-size", type=int, default=None, help="minibatch size (default: full batch)")
    p.add_argument("--unroll", action="store_true", help="fully unrolled code (tiny nets only)")
    p.add_argument("--data", default="moons", help="moons, spiral, xor, circles, or a .npz/.csv file (default moons)")
    p.add_argument("--samples", type=int, default=None, help="samples for a built-in dataset (default: moons 100, spiral 300, xor 200, circles 200)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of a built-in dataset (default 0)")
    p.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--source", metavar="FILE", help="write the generated training code to FILE")
    p.add_argument("--export", metavar="FILE", help="write a standalone trained module (numpy + numba)")
    p.add_argument("--save", metavar="FILE", help="save the trainer (.npz) for symdiff.load_trainer")
    p.add_argument("--plot", metavar="PNG", help="write the loss curve (needs matplotlib)")
    p.set_defaults(func=run)


def load_data(spec, samples=None, seed=0):
    """(X, labels_or_targets, is_labels) from a dataset name or a .npz/.csv file."""
    from . import datasets
    if os.path.splitext(spec)[1].lower() in (".npz", ".csv") or os.path.exists(spec):
        if not os.path.exists(spec):
            raise FormulaError(f"data file {spec!r} not found")
        if spec.lower().endswith(".npz"):
            try:
                with np.load(spec, allow_pickle=False) as f:
                    if "X" not in f.files or "y" not in f.files:
                        raise FormulaError(f"{spec}: an .npz needs arrays named X and y (found: "
                                           f"{', '.join(f.files) or 'none'})")
                    X, y = np.asarray(f["X"], dtype=np.float64), f["y"]
            except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
                raise FormulaError(f"cannot read {spec}: {type(exc).__name__}: {exc}"[:300]) from None
        else:
            X, y = _read_csv(spec)
        return np.asarray(X, dtype=np.float64), np.asarray(y), False
    X, labels = datasets.load(spec, samples, seed)
    return X, labels, True


def _read_csv(path):
    try:
        with open(path, encoding="utf-8") as f:
            rows = [line.strip() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise FormulaError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise FormulaError(f"{path} is empty")
    parsed = []
    for k, row in enumerate(rows):
        cells = row.split(",")
        try:
            parsed.append([float(c) for c in cells])
        except ValueError:
            if k == 0:
                continue      # a header
            raise FormulaError(f"{path}, line {k + 1}: not numbers: {row[:60]!r}") from None
    widths = {len(r) for r in parsed}
    if len(widths) != 1 or widths.pop() < 2:
        raise FormulaError(f"{path}: every row needs the same number (at least 2) of columns")
    a = np.array(parsed)
    return a[:, :-1], a[:, -1]


def _targets(y, is_labels, loss, n_out):
    from . import datasets
    if is_labels:
        return datasets.targets(y, loss, n_out)
    if loss == "softmax_ce":
        return y
    return y.astype(np.float64)


def run(args):
    from .trainer import mlp_trainer
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        raise FormulaError(f"--sizes expects comma-separated integers, got {args.sizes!r}",
                           hint="--sizes 2,16,16,1") from None
    loss = args.loss or ("softmax_ce" if sizes and sizes[-1] > 1 else "hinge")
    if args.steps < 1:
        raise FormulaError("--steps must be at least 1")
    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise FormulaError("--plot needs matplotlib, which is not installed",
                               hint="pip install matplotlib (or pip install symdiff-backprop[plot])") from None
    from codegen.files import check_target, write_file
    for path in (args.source, args.save, args.export, args.plot):
        if path:
            check_target(path)   # before training: a bad path is an error now, not after it
    X, y, is_labels = load_data(args.data, args.samples, args.data_seed)
    if X.ndim != 2:
        raise FormulaError(f"X has shape {X.shape}; expected (n_samples, n_features)")
    if sizes and X.shape[1] != sizes[0]:
        raise FormulaError(f"the data has {X.shape[1]} input columns but --sizes starts with {sizes[0]}",
                           hint=f"--sizes {X.shape[1]},{','.join(map(str, sizes[1:]))}")
    y = _targets(y, is_labels, loss, sizes[-1] if sizes else 1)
    t = mlp_trainer(sizes, activation=args.activation, output_activation=args.output_activation,
                    loss=loss, l2=args.l2, l2_weights_only=args.l2_weights_only, lr=args.lr,
                    optimizer=args.optimizer, momentum=args.momentum, seed=args.seed,
                    init=args.init, batch_size=args.batch_size, reduction=args.reduction,
                    unroll=args.unroll, verbose=not args.quiet)
    if args.source:
        write_file(args.source, t.source)
        print(f"wrote the generated training code to {args.source}")
    from .trainer import TrainingDiverged
    try:
        losses = t.fit(X, y, steps=args.steps)
    except TrainingDiverged as exc:
        print(f"symdiff: {exc}", file=sys.stderr)
        return 1
    print(f"data: {args.data}, {X.shape[0]} samples; MLP{tuple(sizes)}, loss {loss}")
    print(f"loss: {losses[0]:.6g} at step 0 -> {losses[-1]:.6g} at step {args.steps - 1} "
          "(each computed before that step's update; steps count from 0)")
    acc = accuracy(t.predict(X), y, loss)
    if acc is not None:
        print(f"accuracy after the last update: {acc:.1%} on all {X.shape[0]} samples (the progress "
              "line's acc is measured before each step's update"
              + (", on that step's minibatch)" if args.batch_size else ")"))
    if args.plot:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(np.arange(len(losses)), losses)
        ax.set_xlabel("step")
        ax.set_ylabel("loss (before the step's update)")
        ax.set_yscale("log" if np.all(losses > 0) else "linear")
        ax.set_title(f"MLP{tuple(sizes)} on {os.path.basename(args.data)}")
        fig.tight_layout()
        import io
        picture = io.BytesIO()
        fig.savefig(picture, dpi=100, format=os.path.splitext(args.plot)[1][1:].lower() or "png")
        write_file(args.plot, picture.getvalue())   # whole or not at all, like the other outputs
        print(f"wrote the loss curve to {args.plot}")
    if args.save:
        t.save(args.save)
        print(f"saved the trainer to {args.save}")
    if args.export:
        t.export(args.export)
        print(f"wrote a standalone module to {args.export}")
    return 0


def accuracy(scores, y, loss):
    """Fraction classified right, or None when the loss is not a classification loss."""
    if loss == "softmax_ce":
        return float(np.mean(scores.argmax(1) == np.asarray(y).reshape(-1)))
    if loss in ("hinge", "logistic"):
        y = np.asarray(y, dtype=np.float64).reshape(scores.shape)
        return float(np.mean((scores > 0) == (y > 0)))
    return None
