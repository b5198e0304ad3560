#!/usr/bin/env bash
# The newest leg of scripts/test (`scripts/test --newest`): the checks of scripts/_checks.sh on
# the newest Home Assistant with a test package, on Python 3.14 from Debian sid.
#
# The sid root is built once into $NEWEST_CACHE (outside the repository, so fresh clones on this
# machine share it) under a name that changes with its pins: the requirement files, the Debian
# packages and this recipe. A root that is absent is built from nothing (debootstrap, apt, pip;
# about 6 minutes). Each run copies the working tree into the root, bind-mounts /proc for the
# run (always unmounted again) and removes its copy afterwards. Needs root (chroot, mount).
# Extra arguments go to pytest. With --pytest-only first, only pytest runs, with those arguments
# (a quick look at some tests there, e.g. `scripts/test --newest --pytest-only tests/browser -x`);
# the checks themselves are always all of scripts/_checks.sh.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEWEST_CACHE="${NEWEST_CACHE:-/var/cache/email-incidents}"
NEWEST_SUITE=sid
NEWEST_REQUIREMENTS=(requirements.txt requirements_test_newest.txt)
# What the checks use besides Python: the compiler for wheels without a 3.14 build, swaks and
# openssl for the end-to-end tests, chromium for the browser tests (/usr/bin/chromium), postfix
# and dovecot-imapd for the tests against a real Postfix and a real IMAP server (each test starts
# its own private instance).
NEWEST_PACKAGES=(python3.14 python3.14-venv python3.14-dev build-essential swaks openssl chromium
  postfix dovecot-imapd)
# Inside the root.
VENV=/opt/venv
READY=.newest-ready  # written last: a root without it is an interrupted build
RECIPE_VERSION=2  # raise when the build below changes in a way the pins do not show

if ((EUID != 0)); then
  echo "scripts/test --newest builds and enters a chroot: run it as root." >&2
  exit 1
fi

pins_hash() {
  {
    echo "$RECIPE_VERSION $NEWEST_SUITE ${NEWEST_PACKAGES[*]}"
    (cd "$REPO_ROOT" && cat "${NEWEST_REQUIREMENTS[@]}")
  } | sha256sum | cut -c1-16
}

# The machine's Debian mirror, as its apt sources name it.
debian_mirror() {
  local mirror
  mirror="$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ \
    2>/dev/null | head -n1 | tr -d ' ')" || true
  echo "${mirror:-http://deb.debian.org/debian}"
}

MOUNTS=()
RUN_DIR=""
cleanup() {
  local mount
  for mount in "${MOUNTS[@]}"; do
    umount "$mount" || umount -l "$mount"
  done
  MOUNTS=()
  if [[ -n "$RUN_DIR" ]]; then
    rm -rf "$RUN_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a command in the root with /proc mounted, in a clean environment.
in_root() {
  local root=$1
  shift
  mount --bind /proc "$root/proc"
  MOUNTS+=("$root/proc")
  local status=0
  chroot "$root" env -i PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
    HOME=/root LANG=C.UTF-8 TMPDIR=/tmp DEBIAN_FRONTEND=noninteractive "$@" || status=$?
  # Lazily if busy: another run of this root (another worktree) may still use the mount.
  umount "$root/proc" || umount -l "$root/proc"
  MOUNTS=()
  return "$status"
}

# The host's certificate authorities (pip trusts only those) and name servers.
copy_host_files() {
  local root=$1
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  cp --remove-destination /etc/resolv.conf "$root/etc/resolv.conf"
}

build_root() {
  local root=$1 partial="$1.partial" leftover
  for leftover in "$partial" "$root"; do
    if mountpoint -q "$leftover/proc" 2>/dev/null; then
      umount "$leftover/proc"
    fi
    rm -rf --one-file-system "$leftover"  # never into a mount an interrupted build left
  done
  echo "Building the $NEWEST_SUITE root $root (once for these pins)..." >&2
  debootstrap --variant=minbase --include=ca-certificates "$NEWEST_SUITE" "$partial" \
    "$(debian_mirror)" >"$NEWEST_CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$NEWEST_CACHE/debootstrap.log" >&2; return 1; }
  copy_host_files "$partial"
  # sid's Release file is often past its Valid-Until date.
  echo 'Acquire::Check-Valid-Until "false";' >"$partial/etc/apt/apt.conf.d/99no-valid-until"
  # No package may start its service in the root (postfix, dovecot): invoke-rc.d asks this.
  printf '#!/bin/sh\nexit 101\n' >"$partial/usr/sbin/policy-rc.d"
  chmod 755 "$partial/usr/sbin/policy-rc.d"
  in_root "$partial" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    ${NEWEST_PACKAGES[*]}" >"$NEWEST_CACHE/apt.log" 2>&1 \
    || { tail -n 20 "$NEWEST_CACHE/apt.log" >&2; return 1; }
  mkdir -p "$partial/opt/requirements"
  (cd "$REPO_ROOT" && cp "${NEWEST_REQUIREMENTS[@]}" "$partial/opt/requirements/")
  in_root "$partial" sh -c "python3.14 -m venv $VENV \
    && $VENV/bin/pip install --quiet --upgrade pip \
    && cd /opt/requirements && $VENV/bin/pip install --quiet -r requirements_test_newest.txt"
  mkdir -p "$partial/work"
  touch "$partial/$READY"
  mv "$partial" "$root"
}

ensure_root() {
  local root=$1
  mkdir -p "$NEWEST_CACHE"
  exec 9>"$NEWEST_CACHE/newest.lock"
  flock 9  # one build at a time; a second run waits for it and uses its result
  if [[ ! -f "$root/$READY" ]]; then
    build_root "$root"
  fi
  flock -u 9
}

main() {
  local root
  root="$NEWEST_CACHE/newest-$(pins_hash)"
  ensure_root "$root"
  copy_host_files "$root"  # the host's may have changed since the build
  RUN_DIR="$(mktemp -d "$root/work/run.XXXXXX")"
  # The working tree as git sees it: tracked and new files, without ignored ones (.venv, caches).
  (cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$RUN_DIR"
  echo "==> newest leg in $root (Debian $NEWEST_SUITE)"
  local work="/work/${RUN_DIR##*/}" status=0
  if [[ "${1:-}" == --pytest-only ]]; then
    shift
    in_root "$root" sh -c 'cd "$0" && exec python -m pytest -p no:cacheprovider "$@"' "$work" \
      "$@" || status=$?
  else
    in_root "$root" MYPY_OPTIONS="--python-version 3.14" MYPYPATH=scripts/newest_stubs \
      CHECK_JAVASCRIPT=no bash "$work/scripts/_checks.sh" "$@" || status=$?
  fi
  # The browser tests' screenshots and logs, kept apart from the 2025.4 leg's.
  if [[ -d "$RUN_DIR/tests/browser/output" ]]; then
    rm -rf "$REPO_ROOT/tests/browser/output/newest"
    mkdir -p "$REPO_ROOT/tests/browser/output"
    cp -r "$RUN_DIR/tests/browser/output" "$REPO_ROOT/tests/browser/output/newest"
  fi
  return "$status"
}

main "$@"
