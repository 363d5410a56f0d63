"""Evaluation: evaluator training, the job queue (the one runner), metrics, fidelity measures, results tables.

It reads selection manifests and pools; it never runs a selector."""
