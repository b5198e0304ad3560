#!/usr/bin/env bash
# The checks of every leg of scripts/test: ruff (lint and format), mypy (strict), the JavaScript
# of the panel and the card (types by TypeScript, format by Prettier, tests on node), the tests
# with coverage (at least 95%) and the Home Assistant compatibility guard, then the versions they
# ran on. Runs from the repository root with the leg's tools first on PATH. MYPY_OPTIONS holds
# the leg's own mypy options; CHECK_JAVASCRIPT=no skips the JavaScript, which depends on neither
# Home Assistant's nor Python's version (the newest leg, without node, leaves it to the other).
# Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
run() {
  echo "==> $*"
  "$@" || failed+=("${*:1:3}")
}

read -ra mypy_options <<<"${MYPY_OPTIONS:-}"
run ruff check .
run ruff format --check .
run mypy "${mypy_options[@]}" custom_components/email_incidents
if [[ "${CHECK_JAVASCRIPT:-yes}" != no ]]; then
  # TypeScript and Prettier are development tools only (package.json): the modules ship as
  # they are.
  if [[ ! -x node_modules/.bin/tsc || ! -x node_modules/.bin/prettier ]]; then
    run npm ci --no-audit --no-fund --silent
  fi
  run node_modules/.bin/tsc --project jsconfig.json
  run node_modules/.bin/prettier --check custom_components/email_incidents/frontend tests/frontend
  run node --test tests/frontend/
fi
run python -m coverage erase
run python -m pytest -p no:cacheprovider -n 2 --dist loadfile \
  --cov=custom_components/email_incidents --cov-report=term --cov-fail-under=95 "$@"
run python scripts/check_ha_api.py
python -c 'import sys; from homeassistant.const import __version__ as ha
print(f"Ran on Home Assistant {ha} with Python {sys.version.split()[0]}")'

if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "All checks passed."
