#!/usr/bin/env bash
# The Debian packages `make test` needs (the Makefile names them: SYSTEM_PACKAGES).
#   tools/system_packages.sh check PKG...     one line naming the missing ones, exit 1; silent when none
#   tools/system_packages.sh install PKG...   apt-get install the missing ones (as root, or with sudo)
set -euo pipefail
action=${1:?usage: tools/system_packages.sh check|install PACKAGE...}
shift

installed() {
  if command -v dpkg-query >/dev/null 2>&1; then
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
  else  # not Debian: look for what the tests use from each package
    case "$1" in
      chromium) [ -x /usr/bin/chromium ] ;;
      chromium-driver) command -v chromedriver >/dev/null 2>&1 ;;
      bubblewrap) command -v bwrap >/dev/null 2>&1 ;;
      fonts-noto-cjk) command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko 2>/dev/null)" ] ;;
      fonts-noto-color-emoji) command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list ':charset=1f917' 2>/dev/null)" ] ;;
      *) return 1 ;;
    esac
  fi
}

missing=()
for package in "$@"; do
  installed "$package" || missing+=("$package")
done

case "$action" in
  check)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "make test needs these system packages, missing here: ${missing[*]}. Install them with: make system-packages (apt-get, as root or with sudo)" >&2
      exit 1
    fi ;;
  install)
    if [ ${#missing[@]} -eq 0 ]; then
      echo "Already installed: $*"
      exit 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "No apt-get here: install ${missing[*]} (or your system's equivalents) with its package manager." >&2
      exit 1
    fi
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
        echo "Installing ${missing[*]} needs root: run make system-packages as root (sudo is not installed)." >&2
        exit 1
      fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" ;;
  *)
    echo "usage: tools/system_packages.sh check|install PACKAGE..." >&2
    exit 2 ;;
esac
