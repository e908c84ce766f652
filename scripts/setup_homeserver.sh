#!/usr/bin/env bash
# Prepares a home server for btcbot's stage and prod stacks: scripts/setup_homeserver.sh [--dry-run] [--base DIR]
#
# 1. Checks (and reports; it installs nothing): Docker (CLI and engine), Compose (the v2 plugin
#    `docker compose` or the old `docker-compose`) and Watchtower (running, --label-enable, its
#    poll interval or schedule).
# 2. Creates the layout under the base directory (default /opt/btcbot; --base DIR or BTCBOT_BASE):
#      logs/stage logs/prod backups/stage backups/prod backups/metrics scripts   (mode 755)
#      secrets                                                                   (mode 700)
#      .env.stage .env.prod  copied from .env.stage.example / .env.prod.example   (mode 600)
#      scripts/backup_db.sh scripts/restore_db.sh                                 (mode 755)
#    An existing env file is never overwritten (only its mode is fixed); the scripts are
#    refreshed when they differ from this checkout's.
# Idempotent: a second run changes nothing and says so. --dry-run prints each action instead of
# doing it. Exit status: 0 when the layout is in place (check warnings do not fail it), 1 when an
# action failed, 2 on bad usage.
#
# Environment (optional): BTCBOT_BASE, EXAMPLES_DIR (where the .env.*.example files are; default
# this checkout), DOCKER (default docker), DOCKER_COMPOSE (the v1 command; default docker-compose).
set -euo pipefail

usage() {
  echo "usage: $0 [--dry-run] [--base DIR]" >&2
  exit 2
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dry_run=0
base=${BTCBOT_BASE:-/opt/btcbot}
while (($# > 0)); do
  case "$1" in
    --dry-run | -n) dry_run=1 ;;
    --base)
      (($# >= 2)) || usage
      base=$2
      shift
      ;;
    --base=*) base=${1#--base=} ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
  shift
done
[[ -n $base ]] || usage

DOCKER=${DOCKER:-docker}
DOCKER_COMPOSE=${DOCKER_COMPOSE:-docker-compose}
EXAMPLES_DIR=${EXAMPLES_DIR:-$(cd "$script_dir/.." && pwd)}
warnings=0
changes=0

say() { echo "setup_homeserver: $*"; }
ok() { say "OK    $*"; }
warn() {
  say "WARN  $*"
  warnings=$((warnings + 1))
}
die() {
  echo "setup_homeserver: ERROR: $*" >&2
  exit 1
}

# One change: printed, and done unless --dry-run. Usage: act "what" command args...
act() {
  local what=$1
  shift
  changes=$((changes + 1))
  if ((dry_run)); then
    say "would $what"
  else
    "$@" || die "failed to $what"
    say "did   $what"
  fi
}

mode_of() { stat -c %a "$1"; }

# ---- 1. Checks --------------------------------------------------------------------------------
say "checking Docker, Compose and Watchtower"
docker_ok=0
if ! command -v "$DOCKER" >/dev/null 2>&1; then
  warn "docker not found: install Docker Engine (https://docs.docker.com/engine/install/)"
elif server=$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null) && [[ -n $server ]]; then
  ok "Docker engine $server"
  docker_ok=1
else
  warn "the docker CLI is installed but the engine does not answer (is dockerd running? is $(id -un) in the docker group?)"
fi

if command -v "$DOCKER" >/dev/null 2>&1 && compose=$("$DOCKER" compose version --short 2>/dev/null) && [[ -n $compose ]]; then
  ok "Compose v2 plugin $compose (docker compose)"
elif command -v "$DOCKER_COMPOSE" >/dev/null 2>&1 && compose=$("$DOCKER_COMPOSE" version --short 2>/dev/null) && [[ -n $compose ]]; then
  ok "docker-compose $compose (the standalone command; the v2 plugin 'docker compose' is preferred)"
else
  warn "no Compose: install the Compose plugin (Debian/Ubuntu: apt-get install docker-compose-plugin)"
fi

watchtower_hint="docker run -d --name watchtower --restart unless-stopped -v /var/run/docker.sock:/var/run/docker.sock containrrr/watchtower --label-enable --interval 300"
if ((docker_ok)); then
  watchtower=$("$DOCKER" ps --format '{{.Names}} {{.Image}}' 2>/dev/null | awk 'tolower($2) ~ /watchtower/ { print $1; exit }' || true)
  if [[ -z $watchtower ]]; then
    warn "no Watchtower container running: the bots' images will not be updated. Start one: $watchtower_hint"
  else
    config=$("$DOCKER" inspect -f '{{range .Config.Cmd}}{{println .}}{{end}}{{range .Config.Env}}{{println .}}{{end}}' "$watchtower" 2>/dev/null || true)
    label_enable=0
    interval=''
    schedule=''
    previous=''
    while IFS= read -r item; do
      case "$item" in
        --label-enable | --label-enable=true | WATCHTOWER_LABEL_ENABLE=true | WATCHTOWER_LABEL_ENABLE=1) label_enable=1 ;;
        --interval=* | WATCHTOWER_POLL_INTERVAL=*) interval=${item#*=} ;;
        --schedule=* | WATCHTOWER_SCHEDULE=*) schedule=${item#*=} ;;
      esac
      case "$previous" in
        --interval | -i) interval=$item ;;
        --schedule | -s) schedule=$item ;;
      esac
      previous=$item
    done <<<"$config"
    ok "Watchtower is running (container $watchtower)"
    if ((label_enable)); then
      ok "Watchtower --label-enable: it updates only containers labelled com.centurylinklabs.watchtower.enable=true"
    else
      warn "Watchtower runs without --label-enable (WATCHTOWER_LABEL_ENABLE): it updates every container on this host, not only the labelled bots"
    fi
    if [[ -n $schedule ]]; then
      ok "Watchtower checks on the schedule '$schedule'"
    elif [[ -n $interval ]]; then
      ok "Watchtower polls every ${interval}s"
    else
      warn "Watchtower has no --interval / WATCHTOWER_POLL_INTERVAL: it polls every 86400s (24 h) by default"
    fi
  fi
else
  warn "Watchtower not checked (no Docker engine)"
fi

# ---- 2. Layout ----------------------------------------------------------------------------------
say "layout under $base$( ((dry_run)) && echo ' (dry run: nothing is changed)')"

# A directory with a mode: created, or its mode fixed.
ensure_dir() {
  local dir=$1 mode=$2
  if [[ ! -e $dir ]]; then
    act "create $dir (mode $mode)" mkdir -p -m "$mode" -- "$dir"
    # mkdir -p applies -m only to the last component; parents get the umask's mode (755 usually).
  elif [[ ! -d $dir ]]; then
    die "$dir exists and is not a directory"
  elif [[ $(mode_of "$dir") != "$mode" ]]; then
    act "chmod $mode $dir (was $(mode_of "$dir"))" chmod "$mode" -- "$dir"
  fi
}

ensure_dir "$base" 755
for dir in logs logs/stage logs/prod backups backups/stage backups/prod backups/metrics scripts; do
  ensure_dir "$base/$dir" 755
done
ensure_dir "$base/secrets" 700

copy_private() {
  cp -- "$1" "$2" && chmod 600 -- "$2"
}

for env_name in stage prod; do
  target="$base/.env.$env_name"
  example="$EXAMPLES_DIR/.env.$env_name.example"
  if [[ -e $target ]]; then
    if [[ $(mode_of "$target") != 600 ]]; then
      act "chmod 600 $target (was $(mode_of "$target"))" chmod 600 -- "$target"
    fi
  elif [[ -f $example ]]; then
    act "create $target from $example (mode 600): fill in its values" copy_private "$example" "$target"
  else
    warn "no $example: create $target yourself (mode 600) with the $env_name stack's variables"
  fi
done

for script in backup_db.sh restore_db.sh; do
  source_file="$script_dir/$script"
  target="$base/scripts/$script"
  if [[ ! -f $source_file ]]; then
    warn "$source_file is missing from this checkout: not installed"
  elif [[ ! -e $target ]]; then
    act "install $target" install -m 755 -- "$source_file" "$target"
  elif ! cmp -s -- "$source_file" "$target"; then
    act "update $target (it differs from $source_file)" install -m 755 -- "$source_file" "$target"
  elif [[ $(mode_of "$target") != 755 ]]; then
    act "chmod 755 $target" chmod 755 -- "$target"
  fi
done

# ---- Summary ------------------------------------------------------------------------------------
if ((changes == 0)); then
  say "nothing to change: $base is already set up"
elif ((dry_run)); then
  say "$changes action(s) to take (dry run: nothing was changed; run without --dry-run to take them)"
else
  say "$changes change(s) made under $base"
fi
((warnings == 0)) || say "$warnings warning(s) above"
if ((dry_run == 0)); then
  say "next: fill in $base/.env.stage and $base/.env.prod, add the stacks in Portainer (docs/HOMESERVER.md),"
  say "      and the backup cron lines from scripts/cron.example"
fi
