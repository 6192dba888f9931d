"""The `ntksym` command line (installed as `ntksym.cli`)."""
