"""CS231n lecture 4's sigmoid circuit, inspected: source, trace, graph, cost, export.

    python examples/inspect_sigmoid_circuit.py [output directory]

f(w, x) = 1/(1 + exp(-(w0*x0 + w1*x1 + w2))) at w0=2, x0=-1, w1=-3, x1=-2, w2=-3: the
lecture walks backprop through it gate by gate and gets dw0=-0.20, dx0=0.39, dw1=-0.39,
dx1=-0.59, dw2=0.20. The trace below prints every one of those steps.
"""
import os
import sys

import symdiff
from codegen.dot import GraphvizNotFound

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)

d = symdiff.differentiate("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))")
point = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)

print("== the generated source ==")
d.show()

print("\n== backprop, line by line ==")
t = d.trace(**point)
assert [round(t.grad[k], 2) for k in ("w0", "x0", "w1", "x1", "w2")] == [-0.2, 0.39, -0.39, -0.59, 0.2]

print("\n== the cost report ==")
d.stats(time_limit=5)

print("\n== the graph ==")
picture = d.graph(**point)
dot_path = picture.save(os.path.join(out, "circuit.dot"))
print(f"wrote {dot_path}")
try:
    print(f"wrote {picture.render(os.path.join(out, 'circuit.svg'))}")
except GraphvizNotFound as exc:
    print(f"(no picture: {exc})")

print("\n== a module to ship ==")
print(f"wrote {d.export(os.path.join(out, 'circuit_grad.py'))} (needs only NumPy)")
