"""micrograd's moons demo: MLP(2, [16, 16, 1]), relu, hinge loss + 1e-4 L2, 100 steps.

As in micrograd's demo.ipynb: 100 two-moons samples with labels -1/+1, the mean hinge loss
max(0, 1 - y*score) plus 1e-4 times the sum of squares of every parameter, full batch
SGD with lr = 1.0 - 0.9*step/100. micrograd takes seconds per step here; the generated,
compiled trainer takes microseconds.

    python examples/moons_mlp.py [--source]
"""
import sys
import time

import numpy as np

import symdiff
from symdiff import datasets

X, labels = datasets.moons(100, noise=0.1, seed=0)
y = np.where(labels > 0, 1.0, -1.0)

t = symdiff.mlp_trainer([2, 16, 16, 1], activation="relu", loss="hinge", l2=1e-4,
                        lr="1.0 - 0.9*step/100", optimizer="sgd", seed=0, verbose=False)
if "--source" in sys.argv:
    print(t.source)

start = time.perf_counter()
losses = t.fit(X, y, steps=100)           # the first call compiles (cached afterwards)
first = time.perf_counter() - start
for k in range(0, 100, 10):
    print(f"step {k:3d} loss {losses[k]:.6f}")
accuracy = np.mean((t.predict(X)[:, 0] > 0) == (y > 0))
print(f"final loss {losses[-1]:.6f}, accuracy {accuracy:.0%}")

t.params = t.params                       # (setting params restarts the optimizer state)
start = time.perf_counter()
t.fit(X, y, steps=100)
print(f"first fit (with compile) {first:.2f} s; 100 more steps {1e6 * (time.perf_counter() - start) / 100:.1f} µs/step")
