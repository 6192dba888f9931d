"""`python -m ntksym` runs the command line."""

from ntksym.cli.main import run

run()
