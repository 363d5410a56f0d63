#!/usr/bin/env bash
# Full reproduction: execute every numbered notebook in place with papermill, one profile.
#   ./run_all.sh                 embedded default (digits-motion, CPU)
#   PROFILE=paper_miniucf ./run_all.sh
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/ensure_venv.sh
source scripts/cpu_env.sh
PROFILE="${PROFILE:-default}"
start=$(date +%s)
for nb in notebooks/[0-9][0-9]_*.ipynb; do
    echo "== $nb (profile $PROFILE)"
    t0=$(date +%s)
    .venv/bin/papermill "$nb" "$nb" -p profile "$PROFILE" --cwd . --kernel python3 --log-level WARNING
    echo "   $(( $(date +%s) - t0 )) s"
done
echo "== all notebooks done in $(( $(date +%s) - start )) s"
