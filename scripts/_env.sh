# Shared by scripts/test, scripts/develop and the other scripts: finds Python >= 3.13,
# creates .venv and installs the pinned requirements once (a stamp of their hash).
# Source it; it leaves the venv's bin first on PATH.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"

find_python() {
  local candidate
  for candidate in python3.13 $(ls -d /root/.pyenv/versions/3.13.*/bin/python3.13 2>/dev/null | sort -V -r); do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# Tests start real Home Assistant processes too, so one environment serves every script.
REQUIREMENT_FILES=(requirements.txt requirements_test.txt requirements_develop.txt requirements_browser.txt)

requirements_hash() {
  (cd "$REPO_ROOT" && cat "${REQUIREMENT_FILES[@]}") | sha256sum | cut -d" " -f1
}

ensure_venv() {
  local stamp="$VENV/.requirements-stamp" wanted python
  wanted="$(requirements_hash)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return 0
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    if ! python="$(find_python)"; then
      echo "No Python 3.13 or newer found: install python3.13 or pyenv's 3.13 and run this again." >&2
      exit 1
    fi
    "$python" -m venv "$VENV"
  fi
  echo "Installing the pinned requirements into $VENV (once)..." >&2
  local file args=()
  for file in "${REQUIREMENT_FILES[@]}"; do
    args+=(-r "$REPO_ROOT/$file")
  done
  # This machine's pip configuration names optional local mirrors; their absence is not news.
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored: it is neither" >&2)
  "$VENV/bin/python" -m pip install --quiet "${args[@]}" 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$wanted" >"$stamp"
}

activate_venv() {
  export PATH="$VENV/bin:$PATH"
  export VIRTUAL_ENV="$VENV"
}

# What the tests start or drive besides Python, as command:Debian package: swaks and Chromium
# for the end-to-end and browser tests, Dovecot and Postfix for the mailbox and relay tests.
DEBIAN_PACKAGES=(swaks:swaks chromium:chromium openssl:openssl dovecot:dovecot-imapd postfix:postfix)

# Installs the missing ones (as root, with apt), or names them and stops: a test that needs
# one fails, never skips.
ensure_debian_packages() {
  local entry missing=()
  for entry in "${DEBIAN_PACKAGES[@]}"; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  ((${#missing[@]})) || return 0
  if ((EUID != 0)) || ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need these Debian packages: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing the Debian packages the tests use: ${missing[*]}..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
