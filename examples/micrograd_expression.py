"""micrograd's test expression, as a program of named steps with re-assignment.

micrograd (and PyTorch) give g = 24.7041, dg/da = 138.8338, dg/db = 645.5773.

    python examples/micrograd_expression.py
"""
import symdiff

d = symdiff.differentiate("""
c = a + b
d = a*b + b**3
c += c + 1
c += 1 + c + (-a)
d += d*2 + relu(b + a)
d += 3*d + relu(b - a)
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
""")
print(d.source)
value, grad = d(a=-4.0, b=2.0)
print(f"g = {value:.4f}, dg/da = {grad['a']:.4f}, dg/db = {grad['b']:.4f}")
