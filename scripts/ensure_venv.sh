#!/usr/bin/env bash
# Create .venv at the repo root on first use and install vddlib into it, with its notebook and test extras.
# torch==2.13.0 goes in first, alone, so that nothing later can pull a CUDA build; everything else is installed
# under constraints.txt (the exact tested versions), so ./run_all.sh reproduces exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import vddlib, torch, papermill, nbval, ipywidgets" 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[notebooks,test]"
fi
