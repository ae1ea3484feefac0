"""The micrograd lecture's training loop, as generated code.

MLP(3, [4, 4, 1]) with tanh on every layer, the lecture's 4 samples, the sum of squared
errors, SGD with lr 0.1, 20 steps (Karpathy, "The spelled-out intro to neural networks and
backpropagation"). symdiff prints the forward/backward/update code it compiles; run with
--source to read it, --unroll for the version where every weight has a name.

    python examples/micrograd_lecture_mlp.py [--source] [--unroll]
"""
import sys

import numpy as np

import symdiff

xs = np.array([
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
])
ys = np.array([1.0, -1.0, -1.0, 1.0])    # desired targets

t = symdiff.mlp_trainer([3, 4, 4, 1], activation="tanh", output_activation="tanh",
                        loss="mse", reduction="sum", lr=0.1, optimizer="sgd",
                        seed=0, unroll="--unroll" in sys.argv, verbose=False)
if "--source" in sys.argv:
    print(t.source)

losses = t.fit(xs, ys, steps=20)          # losses[k]: the loss before update k
for k, loss in enumerate(losses):
    print(k, loss)
print("predictions:", np.round(t.predict(xs)[:, 0], 4), "targets:", ys)
