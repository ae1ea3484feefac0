"""The Hacker's guide 2-layer neural network: 3 ReLU neurons and a linear score.

    n1 = max(0, a1*x + b1*y + c1)   ...   score = a4*n1 + b4*n2 + c4*n3 + d4

trained on the guide's six points with the SVM's pulls (the hinge loss), the
regularization pull on the weights (not the biases), step size 0.01, one random point per
step, random initial parameters in [-0.5, 0.5). unroll=True prints the same flat code the
guide writes by hand (n1 -> h1_0, a1 -> w1_0_0, ...): run with --source to read it.

    python examples/hackers_guide_2layer.py [--source]
"""
import sys

import numpy as np

import symdiff

data = np.array([[1.2, 0.7], [-0.3, -0.5], [3.0, 0.1], [-0.1, -1.0], [-1.0, 1.1], [2.1, -3.0]])
labels = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0])

net = symdiff.mlp_trainer([2, 3, 1], activation="relu", loss="hinge", reduction="sum",
                          l2=0.5, l2_weights_only=True, lr=0.01, batch_size=1, seed=0,
                          unroll=True, verbose=False)
rng = np.random.default_rng(0)
net.params = [(rng.random(W.shape) - 0.5, rng.random(b.shape) - 0.5) for W, b in net.params]
if "--source" in sys.argv:
    print(net.source)

for it in range(0, 2000, 200):
    accuracy = np.mean(np.where(net.predict(data)[:, 0] > 0, 1.0, -1.0) == labels)
    print(f"training accuracy at iteration {it}: {accuracy:.4f}")
    net.fit(data, labels, steps=200)
accuracy = np.mean(np.where(net.predict(data)[:, 0] > 0, 1.0, -1.0) == labels)
print(f"final training accuracy: {accuracy:.4f}")
