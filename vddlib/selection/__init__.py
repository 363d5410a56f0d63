"""Selection: the selector registry (one module per selector in `selectors/`), VideoMAE embeddings, VST-UNet
training and its objective, and the selection stage that writes manifests."""
from . import selectors  # noqa: F401  (each selector module registers itself)
from .registry import SELECTORS, display_names, flat_indices, register, select, select_with_info

__all__ = ["SELECTORS", "display_names", "flat_indices", "register", "select", "select_with_info"]
