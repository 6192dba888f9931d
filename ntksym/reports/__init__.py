"""Reports: what `derive`, `check` and `linearize` print and write, in text, LaTeX and JSON.

  derivation.py  `derive`'s text, LaTeX and JSON (spatial.py: conv and pooling steps; depth.py: the depth
                 analysis section; schema.py: the JSON Schema of `derive --format json`)
  readable.py    derived expressions as short text and LaTeX (the one printer the reports share)
  check.py       CheckReport, the result of `ntksym.check`
  linearized.py  LinearizedReport, the result of `ntksym.compare_linearized`
Figures are drawn by ntksym/plots.
"""
