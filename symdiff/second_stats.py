"""``stats()`` of a Hessian, Jacobian, JVP or HVP: the op counts of each part of its program
and the cost relative to the forward pass (issue 10's bounds: a Hessian of n inputs about
n gradient-sized sweeps, an HVP at most about 4x the forward cost, a JVP about 2x)."""
from .inspection import _count, headline


class SecondStats:
    def __init__(self, base, kind, first_order_lines):
        self.base = base
        self.kind = kind
        p = base.program
        self.program = p
        self.forward_ops = p.forward_ops()
        gradient = p.backward[:first_order_lines]
        sweeps = p.backward[first_order_lines:]
        self.gradient_lines, self.sweep_lines = len(gradient), len(sweeps)
        self.gradient_ops = sum(l.expr.count_ops() for l in gradient)
        self.sweep_ops = sum(l.expr.count_ops() for l in sweeps)
        self.sweeps = len(p.wrt) if kind in ("Hessian", "Jacobian") else 1
        self.total_ops = self.forward_ops + self.gradient_ops + self.sweep_ops
        self.ratio = self.total_ops / self.forward_ops if self.forward_ops else float("inf")

    def __repr__(self):
        return (f"<Stats of {self.kind} of {self.program.output}: forward {self.forward_ops} ops, "
                f"gradient {self.gradient_ops} ops, sweeps {self.sweep_ops} ops, "
                f"total/forward {self.ratio:.2f}>")

    def __str__(self):
        rows = [f"cost of the {self.kind} of {headline(self.program.text)}",
                f"  forward   {_count(len(self.program.forward), 'line')}, {_count(self.forward_ops, 'op')}"]
        if self.gradient_lines:
            rows.append(f"  gradient  {_count(self.gradient_lines, 'line')}, {_count(self.gradient_ops, 'op')}")
        per = f" ({self.sweep_ops / self.sweeps:.1f} ops per sweep)" if self.sweeps > 1 else ""
        rows.append(f"  tangents  {_count(self.sweep_lines, 'line')}, {_count(self.sweep_ops, 'op')} in "
                    f"{_count(self.sweeps, 'sweep')}{per}")
        rows.append(f"  total     {_count(self.total_ops, 'op')}: {self.ratio:.2f}x the forward pass")
        if self.base.kernel:
            rows.append(f"  kernel    {self.base.kernel}")
        return "\n".join(rows)

    def _repr_markdown_(self):
        return "```\n" + str(self) + "\n```"
