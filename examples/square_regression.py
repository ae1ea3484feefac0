"""The NumPy neuron blog's regression: learn the square of a number.

x = i/50 and y = i*i/2500 for i = 1..50, a hidden layer of 12 ReLU neurons feeding one
linear output neuron, the squared error (pred - real)**2 of one sample at a time, lr 0.01,
initial weights and biases uniform in [0, 1) like np.random.random. The blog's table of
predictions (inputs 47, 36, 39, 12, 15) is printed at the end.

    python examples/square_regression.py [--source]
"""
import sys

import numpy as np

import symdiff

k = 50
x_train = np.arange(1, k + 1) / k
y_train = np.arange(1, k + 1) ** 2 / (k * k)

t = symdiff.mlp_trainer([1, 12, 1], activation="relu", loss="mse", reduction="sum",
                        lr=0.01, batch_size=1, seed=0, verbose=False)
rng = np.random.default_rng(0)
t.params = [(rng.random(W.shape), rng.random(b.shape)) for W, b in t.params]
if "--source" in sys.argv:
    print(t.source)

epochs = 2000
losses = t.fit(x_train, y_train, steps=epochs * k)     # one sample per step, shuffled per epoch
for e in range(0, epochs, epochs // 10):
    print(f"epoch {e:4d}: mean loss {losses[e * k:(e + 1) * k].mean():.3e}")

print("| Input | Predicted | Real |")
for i in (47, 36, 39, 12, 15):
    pred = t.predict(np.array([[i / k]]))[0, 0]
    print(f"| {i} | {pred * k * k:.3f} | {i * i:.3f} |")
