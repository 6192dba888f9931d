"""The preludes: plain JAX functions that every generated module carries a copy of.

Each module here is importable (the runtime interprets finite networks with `network`, and solves the
training dynamics with `dynamics`, so runtime and generated modules run the same code) and is also copied,
as text and without its import lines, into the generated modules that need it (`codegen.text.prelude_source`).
Inside, names start with `_`, as they will in a generated module; the runtime uses the public names each
module lists at its end, which generated modules do not carry.

  kernel.py      the kernel state, numerically stable building blocks, the propagation helpers
  spatial.py     conv / pooling / flatten on the spatial state
  attention.py   the attention layer's kernel map
  quadrature.py  variance-fitted 2-D Gauss-Hermite quadrature of Gaussian expectations
  mehler.py      the Mehler (Hermite) series with its certified bound; falls back to quadrature.py
  dynamics.py    training dynamics: predictions at any time, the maximal learning rate
  network.py     the finite network: init, apply, the empirical NTK
"""
