"""One module per selector; each registers itself. Every module here is imported, so a new selector is a new file."""
from __future__ import annotations

import importlib
import pkgutil

for _m in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_m.name}")
