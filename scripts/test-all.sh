#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs what the tests need
# (MariaDB server and client, the sqlite3 client, cron's crontab program, Chromium, the age CLI,
# OpenSSH's sshd for the SFTP tests) when missing,
# installs the npm packages, then runs `npm test` (build, type-check, lint, vitest).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v crontab >/dev/null 2>&1 || need+=(cron)
# The dashboard tests drive Debian's Chromium through playwright-core, which downloads no browser.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
command -v age >/dev/null 2>&1 || need+=(age)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)

if [ ${#need[@]} -gt 0 ]; then
  echo "test-all: installing ${need[*]} from Debian's packages" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "test-all: need root (or sudo) to install: ${need[*]} — run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  # The package's own service is not needed: the tests start a private server.
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm test
