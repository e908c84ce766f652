#!/usr/bin/env bash
# Restores one environment's Postgres database from a backup_db.sh dump:
#   scripts/restore_db.sh [--yes] <stage|prod> FILE
#
# Asks you to type the environment's name before it touches anything (--yes skips the question,
# for scripts). Then: checks FILE reads whole as a pg_dump archive, stops the bot container (so it does
# not trade on a half-restored database), runs pg_restore --clean --if-exists in one transaction
# (an error rolls the whole restore back), and starts the bot again if it was running before.
# If the restore fails the bot is left stopped: look at the database, then `docker start` it.
#
# Environment (all optional):
#   PG_CONTAINER   the Postgres container (default btcbot-postgres-<env>)
#   BOT_CONTAINER  the bot container (default btcbot-<env>)
#   ENV_FILE       env file read for POSTGRES_USER / POSTGRES_DB (default .env.<env> beside scripts/)
#   PG_USER, PG_DB override POSTGRES_USER / POSTGRES_DB (default btcbot / btcbot)
#   DOCKER         the docker command (default docker)
# Exit status: 0 restored, 1 failure (message on stderr), 2 bad usage, 3 not confirmed.
set -euo pipefail

die() {
  echo "restore_db: ERROR: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 [--yes] <stage|prod> FILE" >&2
  exit 2
}

assume_yes=0
args=()
for arg in "$@"; do
  case "$arg" in
    --yes | -y) assume_yes=1 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) args+=("$arg") ;;
  esac
done
[[ ${#args[@]} -eq 2 ]] || usage
env_name=${args[0]}
file=${args[1]}
case "$env_name" in
  stage | prod) ;;
  *) usage ;;
esac

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER=${DOCKER:-docker}
PG_CONTAINER=${PG_CONTAINER:-btcbot-postgres-$env_name}
BOT_CONTAINER=${BOT_CONTAINER:-btcbot-$env_name}
ENV_FILE=${ENV_FILE:-$script_dir/../.env.$env_name}

env_value() {
  local key=$1 file=$2 line value=''
  [[ -r $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?${key}[[:space:]]*=(.*)$ ]]; then
      value=${BASH_REMATCH[2]}
      value=${value#"${value%%[![:space:]]*}"}
      value=${value%"${value##*[![:space:]]}"}
      if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
        value=${BASH_REMATCH[1]}
      fi
    fi
  done <"$file"
  printf '%s' "$value"
}

pg_user=${PG_USER:-$(env_value POSTGRES_USER "$ENV_FILE")}
pg_user=${pg_user:-btcbot}
pg_db=${PG_DB:-$(env_value POSTGRES_DB "$ENV_FILE")}
pg_db=${pg_db:-$pg_user}

[[ -f $file && -r $file ]] || die "no readable backup file '$file'"
[[ -s $file ]] || die "'$file' is empty"
command -v "$DOCKER" >/dev/null 2>&1 || die "'$DOCKER' not found: is Docker installed (or DOCKER set)?"

if ((assume_yes == 0)); then
  echo "restore_db: this REPLACES the $env_name database '$pg_db' in container $PG_CONTAINER"
  echo "restore_db: with the contents of $file, and stops $BOT_CONTAINER while it runs."
  printf 'Type the environment name (%s) to go on: ' "$env_name"
  answer=''
  IFS= read -r answer || true
  if [[ $answer != "$env_name" ]]; then
    echo "restore_db: not confirmed; nothing was changed" >&2
    exit 3
  fi
fi

echo "restore_db: checking that $file is a pg_dump archive"
# The whole archive is read (into /dev/null) before the bot is stopped: a truncated file fails here.
if ! "$DOCKER" exec -i "$PG_CONTAINER" pg_restore --file=/dev/null <"$file"; then
  die "$file does not read as a pg_dump custom-format archive (or container $PG_CONTAINER is not running); nothing was changed"
fi

bot_was_running=0
if [[ $("$DOCKER" inspect -f '{{.State.Running}}' "$BOT_CONTAINER" 2>/dev/null || true) == true ]]; then
  bot_was_running=1
  echo "restore_db: stopping $BOT_CONTAINER"
  "$DOCKER" stop "$BOT_CONTAINER" >/dev/null || die "cannot stop $BOT_CONTAINER; nothing was changed"
else
  echo "restore_db: $BOT_CONTAINER is not running; it stays stopped"
fi

echo "restore_db: restoring into database '$pg_db' (user '$pg_user')"
if ! "$DOCKER" exec -i "$PG_CONTAINER" pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error \
  -U "$pg_user" -d "$pg_db" <"$file"; then
  msg="pg_restore failed; nothing of it was kept (one transaction)"
  if ((bot_was_running)); then
    msg="$msg; $BOT_CONTAINER is left stopped: check the database, then run: $DOCKER start $BOT_CONTAINER"
  fi
  die "$msg"
fi

if ((bot_was_running)); then
  echo "restore_db: starting $BOT_CONTAINER"
  "$DOCKER" start "$BOT_CONTAINER" >/dev/null || die "restored, but cannot start $BOT_CONTAINER: run $DOCKER start $BOT_CONTAINER"
fi
echo "restore_db: restored $env_name from $file"
