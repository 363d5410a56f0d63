"""Measurements behind the defaults and of the machines, run by hand (`python benchmarks/<script>.py`), each writing
its table to results/ (results/README.md maps them). `throughput` and `_child` hold what several scripts share;
the library (`vddlib/`) keeps only what the notebooks and users call."""
