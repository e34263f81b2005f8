#!/usr/bin/env bash
# Installs the webjobs schedule (`webjobs cron print`) into the current user's crontab, between
# marker lines that name this app's folder. Idempotent: a second run replaces the block, never
# duplicates it, and every other line of the crontab is kept byte for byte.
#
#   ./setup-cron.sh                      install or update the block
#   ./setup-cron.sh --dry-run            print the crontab it would install, change nothing
#   ./setup-cron.sh --uninstall          remove only the block
#   ./setup-cron.sh --log-dir DIR        where the <job>.log files go (default ./var/log; must be writable)
#   ./setup-cron.sh --config FILE        config file for the jobs (default ./webjobs.config.json if present)
#   sudo ./setup-cron.sh --user www-data install into another user's crontab (root only)
#
# The schedule comes from config `schedule` (see docs/operations.md). Run `webjobs doctor` afterwards.
set -euo pipefail

die() {
  echo "setup-cron.sh: $*" >&2
  exit 1
}
usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
mode=install
dry_run=0
log_dir=""
config=""
user=""
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) mode=uninstall ;;
    --dry-run) dry_run=1 ;;
    --log-dir) [ $# -ge 2 ] || die "--log-dir needs a folder"; log_dir="$2"; shift ;;
    --log-dir=*) log_dir="${1#--log-dir=}" ;;
    --config) [ $# -ge 2 ] || die "--config needs a file"; config="$2"; shift ;;
    --config=*) config="${1#--config=}" ;;
    --user) [ $# -ge 2 ] || die "--user needs a user name"; user="$2"; shift ;;
    --user=*) user="${1#--user=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup-cron.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

command -v crontab >/dev/null 2>&1 || die "the crontab program is not installed (Debian/Ubuntu: apt-get install cron; RHEL/Fedora: dnf install cronie) — or run the jobs without cron: webjobs schedule"
NODE="${NODE:-$(command -v node 2>/dev/null || true)}"
[ -n "$NODE" ] && [ -x "$NODE" ] || die "node is not on PATH (install Node.js 20 or later, or set NODE=/path/to/node)"
"$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "node at $NODE is $("$NODE" --version); webjobs needs 20 or later"
[ -f "$APP_DIR/dist/cli/main.js" ] || die "webjobs is not built ($APP_DIR/dist is missing): run npm install (or npm run build) first"
case "$APP_DIR$log_dir$config" in *$'\n'* | *$'\r'*) die "paths with line breaks cannot go into a crontab" ;; esac

crontab_cmd=(crontab)
if [ -n "$user" ]; then
  [ "$(id -u)" -eq 0 ] || die "--user needs root"
  id "$user" >/dev/null 2>&1 || die "no such user: $user"
  crontab_cmd+=(-u "$user")
fi

[ -n "$log_dir" ] || log_dir="$APP_DIR/var/log"
case "$log_dir" in /*) ;; *) log_dir="$PWD/$log_dir" ;; esac
if [ -n "$config" ]; then
  case "$config" in /*) ;; *) config="$PWD/$config" ;; esac
  [ -r "$config" ] || die "cannot read config file $config"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The current crontab, exactly (no crontab yet: empty).
had_crontab=1
if ! "${crontab_cmd[@]}" -l >"$tmp/current" 2>"$tmp/err"; then
  if grep -qi 'no crontab' "$tmp/err"; then
    had_crontab=0
    : >"$tmp/current"
  else
    die "crontab -l failed: $(cat "$tmp/err")"
  fi
fi

begin="# BEGIN webjobs $APP_DIR"
end="# END webjobs $APP_DIR"
n_begin=$(grep -cFx -- "$begin" "$tmp/current" || true)
n_end=$(grep -cFx -- "$end" "$tmp/current" || true)
if [ "$n_begin" != "$n_end" ] || [ "$n_begin" -gt 1 ]; then
  die "the crontab holds $n_begin begin and $n_end end marker(s) for $APP_DIR: fix it by hand (crontab -e) and run again"
fi

# Everything but our block, byte for byte (LC_ALL=C: bytes, not characters; markers from the environment, unescaped).
LC_ALL=C B="$begin" E="$end" awk 'BEGIN { b = ENVIRON["B"]; e = ENVIRON["E"] }
  $0 == b { skip = 1; next }
  skip && $0 == e { skip = 0; next }
  !skip { print }' "$tmp/current" >"$tmp/rest"
# awk ends every line with a newline: keep a final line that had none exactly as it was.
if [ "$n_begin" = 0 ]; then cp "$tmp/current" "$tmp/rest"; fi

if [ "$mode" = uninstall ]; then
  if [ "$n_begin" = 0 ]; then
    echo "setup-cron.sh: no webjobs block for $APP_DIR in the crontab: nothing to remove" >&2
    [ "$dry_run" = 1 ] && cat "$tmp/current"
    exit 0
  fi
  if [ "$dry_run" = 1 ]; then
    cat "$tmp/rest"
    exit 0
  fi
  if [ -s "$tmp/rest" ]; then
    "${crontab_cmd[@]}" "$tmp/rest"
  else
    "${crontab_cmd[@]}" -r
  fi
  echo "setup-cron.sh: removed the webjobs block for $APP_DIR from the crontab${user:+ of $user}" >&2
  exit 0
fi

# The block, from the schedule in config.
print_args=(cron print --cwd "$APP_DIR" --webjobs "$APP_DIR/bin/webjobs.js" --log-dir "$log_dir")
[ -n "$config" ] && print_args+=(--config "$config")
(cd "$APP_DIR" && "$NODE" "$APP_DIR/bin/webjobs.js" "${print_args[@]}") >"$tmp/block" || die "webjobs cron print failed (see above): nothing installed"

# Rest, then the block at the end: CRON_TZ inside it then applies to no line of yours.
cp "$tmp/rest" "$tmp/new"
if [ -s "$tmp/new" ] && [ "$(tail -c 1 "$tmp/new" | od -An -c | tr -d ' ')" != '\n' ]; then printf '\n' >>"$tmp/new"; fi
cat "$tmp/block" >>"$tmp/new"

logrotate_snippet() {
  local owner group
  owner=$(stat -c %U "$log_dir" 2>/dev/null || echo "${user:-$(id -un)}")
  group=$(stat -c %G "$log_dir" 2>/dev/null || id -gn)
  cat <<EOF
# For /etc/logrotate.d/webjobs (rotates the cron logs weekly, keeps 8):
"$log_dir/*.log" {
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
    su $owner $group
}
EOF
}

# The folder the cron lines append to. Its mode (and owner, with --user) is set only on a folder
# this script created or that the invoking user owns: an existing shared folder (another user's,
# writable by us) is used as it is, since chmod there is refused and is not ours to decide.
prepare_log_dir() {
  local writer="${user:-$(id -un)}" created=0
  if [ ! -d "$log_dir" ]; then
    mkdir -p -- "$log_dir" 2>/dev/null || die "cannot create the log folder $log_dir: choose another --log-dir"
    created=1
  fi
  if [ "$created" = 1 ] || [ -O "$log_dir" ]; then
    chmod 0750 -- "$log_dir"
    if [ -n "$user" ]; then chown -- "$user" "$log_dir"; fi
  fi
  if [ -n "$user" ] && [ "$user" != "$(id -un)" ]; then
    # Root installing for another user: the writer is that user, not root.
    if command -v runuser >/dev/null 2>&1 && ! runuser -u "$user" -- test -w "$log_dir" -a -x "$log_dir"; then
      die "$writer cannot write to the log folder $log_dir (owner $(stat -c %U "$log_dir"), mode $(stat -c %a "$log_dir")): choose another --log-dir"
    fi
  elif [ ! -w "$log_dir" ] || [ ! -x "$log_dir" ]; then
    die "$writer cannot write to the log folder $log_dir (owner $(stat -c %U "$log_dir"), mode $(stat -c %a "$log_dir")): choose another --log-dir"
  fi
}

if [ "$dry_run" = 1 ]; then
  cat "$tmp/new"
  logrotate_snippet >&2
  exit 0
fi

prepare_log_dir

"${crontab_cmd[@]}" "$tmp/new"
"${crontab_cmd[@]}" -l >"$tmp/check" 2>/dev/null || true
cmp -s "$tmp/new" "$tmp/check" || die "the installed crontab differs from what was written: check it with crontab -l"
[ "$had_crontab" = 1 ] || echo "setup-cron.sh: created a crontab${user:+ for $user}" >&2
echo "setup-cron.sh: installed the webjobs block for $APP_DIR ($(grep -c '^[0-9*@]' "$tmp/block") job line(s)); logs in $log_dir" >&2
logrotate_snippet
