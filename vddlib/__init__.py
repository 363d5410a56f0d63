"""vddlib: video dataset condensation with diffusion models, one package per stage of the paper's Figure 1.

data → diffusion → selection → evaluation, with models (networks only) underneath and
experiments (ablations, DM, cost) on top; `vddlib.profile.load_profile` reads a run's settings.
"""

from .logs import set_verbose, verbosity  # noqa: E402,F401  (vddlib.set_verbose(True): progress bars and log lines)

__version__ = "0.1.0"
