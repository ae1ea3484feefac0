"""The Hacker's guide SVM: score = a*x + b*y + c trained with "pulls".

Karpathy's Hacker's guide to Neural Networks, chapter 2: six points, a = 1, b = -2, c = -1,
400 iterations of stochastic gradient descent on one random point, step size 0.01. Its
pull (+1 if a positive point scores below 1, -1 if a negative one scores above -1) is minus
the gradient of the hinge loss max(0, 1 - label*score); the regularization pull -a, -b is
minus the gradient of 0.5*(a*a + b*b). So here: MLP([2, 1]) (a linear score), hinge loss,
l2=0.5 on the weights only, batch_size=1, lr 0.01.

The guide picks points at random with replacement; the trainer draws them in a fresh
shuffle per epoch (from its seed). The guide's own loop, replayed below on that same order,
gives the same a, b, c. On these six points (as the guide lists them) both end with 5 of 6
right: [2.1, -3.0] needs a larger step or more iterations than 400.

    python examples/hackers_guide_svm.py [--source]
"""
import sys

import numpy as np

import symdiff

data = np.array([[1.2, 0.7], [-0.3, -0.5], [3.0, 0.1], [-0.1, -1.0], [-1.0, 1.1], [2.1, -3.0]])
labels = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0])

svm = symdiff.mlp_trainer([2, 1], activation="linear", loss="hinge", reduction="sum",
                          l2=0.5, l2_weights_only=True, lr=0.01, batch_size=1, seed=0,
                          unroll=True, verbose=False)
svm.params = [(np.array([[1.0, -2.0]]), np.array([-1.0]))]     # a, b and c of the guide
if "--source" in sys.argv:
    print(svm.source)


def training_accuracy():
    return np.mean(np.where(svm.predict(data)[:, 0] > 0, 1.0, -1.0) == labels)


for it in range(0, 400, 25):
    print(f"training accuracy at iteration {it}: {training_accuracy():.4f}")
    svm.fit(data, labels, steps=25)
(a, b), = svm.params[0][0]
c, = svm.params[0][1]
print(f"final accuracy {training_accuracy():.4f}; a = {a:.4f}, b = {b:.4f}, c = {c:.4f}")

# the guide's loop, "what all of these classes boil down to", on the trainer's sample order:
# each fit(25) call draws ceil(25/6) = 5 shuffles of the 6 points and uses the first 25
shuffles = np.random.default_rng([0, 1])             # the trainer's shuffle stream (seed 0)
ga, gb, gc = 1.0, -2.0, -1.0
for call in range(400 // 25):
    picks = np.concatenate([shuffles.permutation(6) for _ in range(5)])[:25]
    for i in picks:
        x, y = data[i]
        label = labels[i]
        score = ga*x + gb*y + gc
        pull = 0.0
        if label == 1 and score < 1:
            pull = 1.0
        if label == -1 and score > -1:
            pull = -1.0
        ga += 0.01 * (x * pull - ga)
        gb += 0.01 * (y * pull - gb)
        gc += 0.01 * (1 * pull)
print(f"the guide's loop:    a = {ga:.4f}, b = {gb:.4f}, c = {gc:.4f}")
