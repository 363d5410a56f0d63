"""Experiments on top of the stages: ablations (notebook 05), the DM baseline, cost (notebook 06), dry-run plans."""
