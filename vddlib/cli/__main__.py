"""`python -m vddlib.cli` and `python -m vddlib`: the `vddlib` command."""
from vddlib.cli.main import main

main()
