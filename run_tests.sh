#!/usr/bin/env bash
# The test command: unit tests, then nbval re-executing every numbered notebook on one profile.
#   ./run_tests.sh                     unit tests + the notebooks on params/ci.yaml (what CI runs)
#   NB_PROFILE=default ./run_tests.sh  the notebooks on the full embedded default instead (as ./run_all.sh runs them)
#   ./run_tests.sh -x -k generate      extra arguments go to pytest
# The notebooks are copied with papermill's --prepare-only into artifacts/nbval/<profile>/notebooks/, their
# `profile`, `results_dir` and `figures_dir` parameters set to artifacts/nbval/<profile>/{results,figures}, so a test
# run never writes into results/ or figures/ (git status stays clean).
# nbval compares only the cells tagged nbval-check-output, which print checks that hold on every profile.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/ensure_venv.sh
source scripts/cpu_env.sh
NB_PROFILE="${NB_PROFILE:-ci}"
nbdir="artifacts/nbval/$NB_PROFILE"
rm -rf "$nbdir"
mkdir -p "$nbdir/notebooks"
for nb in notebooks/[0-9][0-9]_*.ipynb; do
    .venv/bin/papermill "$nb" "$nbdir/notebooks/$(basename "$nb")" --prepare-only --log-level WARNING \
        -p profile "$NB_PROFILE" -p results_dir "$nbdir/results" -p figures_dir "$nbdir/figures"
done
exec .venv/bin/python -m pytest -q --nbval-lax --nbval-current-env -p no:cacheprovider "$@" tests "$nbdir/notebooks"
