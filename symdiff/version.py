"""Facts that both the facade and ``codegen`` read, kept out of the facade so that
``codegen`` never imports it: the version (in every kernel's build stamp) and the kernel
kinds ``differentiate(kernel=...)`` takes."""

__version__ = "0.1.0"
KERNELS = ("auto", "straight", "tape")   # codegen.kernels.Kernels: how calls run compiled
