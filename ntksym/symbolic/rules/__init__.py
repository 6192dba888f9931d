"""The kernel rules, one module per activation family (closed forms with their sources; numerical.py: the
Mehler series / quadrature), and the layers' own rules (dense.py, conv.py, attention.py). The table from
activation name to rule is ntksym/symbolic/duals.py."""
