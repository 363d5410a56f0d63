"""`python -m vddlib`: the `vddlib` command (vddlib.cli.main)."""
from vddlib.cli.main import main

main()
