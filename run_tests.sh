#!/usr/bin/env bash
# The test command: unit tests plus nbval re-execution of the committed notebooks.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/ensure_venv.sh
source scripts/cpu_env.sh
exec .venv/bin/python -m pytest -q --nbval-lax --nbval-current-env -p no:cacheprovider "$@" tests notebooks
