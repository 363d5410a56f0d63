#!/usr/bin/env bash
# Full reproduction: execute every numbered notebook with papermill, one profile.
#   ./run_all.sh                 embedded default (digits-motion, CPU): the notebooks run in place and write the
#                                committed results/ and figures/
#   PROFILE=paper_miniucf ./run_all.sh
#                                any other profile writes its executed notebooks, results and figures to its own
#                                `outputs:` folder (runs/<profile>/ unless the profile names one), never over
#                                the committed default outputs
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/ensure_venv.sh
source scripts/cpu_env.sh
PROFILE="${PROFILE:-default}"
export VDDLIB_VERBOSE="${VDDLIB_VERBOSE:-0}"   # no progress bars in the saved outputs (1: bars and log lines)
outputs=$(.venv/bin/python -c "from vddlib.profile import load_profile; print(load_profile('$PROFILE').outputs)")
if [ "$outputs" = "." ]; then nbout=notebooks; else nbout="$outputs/notebooks"; fi
mkdir -p "$nbout"
echo "== profile $PROFILE: notebooks → $nbout/, results and figures → $outputs/"
start=$(date +%s)
for nb in notebooks/[0-9][0-9]_*.ipynb; do
    echo "== $nb (profile $PROFILE)"
    t0=$(date +%s)
    # the default profile runs in place with no parameters given, so papermill adds no injected-parameters cell and
    # the committed notebook's own parameters cell is the one that ran (a reader's edit to it then takes effect)
    if [ "$nbout" = notebooks ]; then params=(); else params=(-p profile "$PROFILE"); fi
    .venv/bin/papermill "$nb" "$nbout/$(basename "$nb")" "${params[@]}" --cwd . --kernel python3 --log-level WARNING
    echo "   $(( $(date +%s) - t0 )) s"
done
echo "== all notebooks done in $(( $(date +%s) - start )) s"
