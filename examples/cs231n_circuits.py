"""CS231n lecture 4: the (x + y)*z circuit and the sigmoid circuit, gate by gate.

    python examples/cs231n_circuits.py
"""
import symdiff

# x = -2, y = 5, z = -4: f = -12, df/dx = df/dy = -4, df/dz = 3
d = symdiff.differentiate("q = x + y\nf = q*z")
print(d.source)
print(d(x=-2.0, y=5.0, z=-4.0), "\n")

# the sigmoid circuit: dw0 = -0.2, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.2
circuit = symdiff.differentiate("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))")
print(circuit.source)
value, grad = circuit(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
print(f"f = {value:.2f}", {k: round(v, 2) for k, v in grad.items()})
