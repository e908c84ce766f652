#!/usr/bin/env bash
# Backs up one environment's Postgres database: scripts/backup_db.sh <stage|prod>
#
# Runs pg_dump (custom format) inside the environment's Postgres container and writes
#   ${BACKUP_DIR:-./backups}/<env>/btcbot-<env>-<UTC timestamp>.dump
# The dump goes to a hidden temporary name first and is renamed only once pg_dump finished and
# pg_restore read the whole archive back: a failed backup leaves no partial file. The newest
# ${BACKUP_KEEP:-30} dumps of the environment are kept, older ones removed. On success the time is
# written for node-exporter's textfile collector (the stale-backup alert reads it):
#   ${BACKUP_DIR}/metrics/backup-<env>.prom
#     btcbot_backup_last_success_timestamp_seconds{environment="<env>"} <unix seconds>
#
# Environment (all optional):
#   BACKUP_DIR     where the dumps go (default ./backups)
#   BACKUP_KEEP    how many dumps to keep per environment (default 30)
#   PG_CONTAINER   the Postgres container (default btcbot-postgres-<env>)
#   ENV_FILE       the environment's env file, read for POSTGRES_USER / POSTGRES_DB
#                  (default .env.<env> beside the scripts directory, i.e. the project or base dir)
#   PG_USER, PG_DB override POSTGRES_USER / POSTGRES_DB (default btcbot / btcbot)
#   DOCKER         the docker command (default docker)
# Exit status: 0 on success, 1 on any failure (with a message on stderr), 2 on bad usage.
set -euo pipefail

die() {
  echo "backup_db: ERROR: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 <stage|prod>" >&2
  exit 2
}

[[ $# -eq 1 ]] || usage
env_name=$1
case "$env_name" in
  stage | prod) ;;
  *) usage ;;
esac

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER=${DOCKER:-docker}
BACKUP_DIR=${BACKUP_DIR:-./backups}
BACKUP_KEEP=${BACKUP_KEEP:-30}
PG_CONTAINER=${PG_CONTAINER:-btcbot-postgres-$env_name}
ENV_FILE=${ENV_FILE:-$script_dir/../.env.$env_name}

[[ $BACKUP_KEEP =~ ^[1-9][0-9]*$ ]] || die "BACKUP_KEEP must be a positive integer, not '$BACKUP_KEEP'"

# The value of KEY in an env file (KEY=value, optional quotes); empty when absent. Not sourced:
# an env file is data, not a script.
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

command -v "$DOCKER" >/dev/null 2>&1 || die "'$DOCKER' not found: is Docker installed (or DOCKER set)?"

target_dir="$BACKUP_DIR/$env_name"
metrics_dir="$BACKUP_DIR/metrics"
mkdir -p "$target_dir" "$metrics_dir" || die "cannot create $target_dir and $metrics_dir"

# Names sort by time; a second backup within the same second waits for the next one.
for _ in 1 2 3; do
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  final="$target_dir/btcbot-$env_name-$stamp.dump"
  [[ -e $final ]] || break
  sleep 1
done
[[ ! -e $final ]] || die "$final already exists"
partial="$target_dir/.btcbot-$env_name-$stamp.dump.partial"

cleanup() {
  rm -f -- "$partial"
}
trap cleanup EXIT

echo "backup_db: dumping database '$pg_db' (user '$pg_user') from container $PG_CONTAINER"
# The books are nobody else's business: the dump is readable by its owner only.
(umask 077 && : >"$partial") || die "cannot write in $target_dir"
if ! "$DOCKER" exec "$PG_CONTAINER" pg_dump -Fc -U "$pg_user" -d "$pg_db" >"$partial"; then
  die "pg_dump in container $PG_CONTAINER failed (is the $env_name stack up? right POSTGRES_USER/POSTGRES_DB?); no backup written"
fi
[[ -s $partial ]] || die "pg_dump wrote nothing; no backup written"
# Read the whole archive back (every data block, into /dev/null): a truncated or corrupt dump
# fails here, not on the day it is needed.
if ! "$DOCKER" exec -i "$PG_CONTAINER" pg_restore --file=/dev/null <"$partial"; then
  die "the dump does not read back (pg_restore failed on it); no backup written"
fi
mv -- "$partial" "$final" || die "cannot rename the dump to $final"
trap - EXIT
size=$(wc -c <"$final")
echo "backup_db: wrote $final (${size// /} bytes)"

# Retention: the names sort by time (UTC timestamps), so everything before the newest N goes.
mapfile -t dumps < <(find "$target_dir" -maxdepth 1 -type f -name "btcbot-$env_name-*.dump" -printf '%f\n' | LC_ALL=C sort)
excess=$((${#dumps[@]} - BACKUP_KEEP))
if ((excess > 0)); then
  for old in "${dumps[@]:0:excess}"; do
    rm -f -- "${target_dir:?}/$old" || die "cannot remove old backup $target_dir/$old"
    echo "backup_db: removed old backup $old (keeping the newest $BACKUP_KEEP)"
  done
fi

# The alert's input, written atomically (the collector reads only *.prom files; rename is atomic).
prom="$metrics_dir/backup-$env_name.prom"
prom_tmp="$metrics_dir/.backup-$env_name.prom.$$"
{
  echo '# HELP btcbot_backup_last_success_timestamp_seconds Unix time of the last successful btcbot database backup.'
  echo '# TYPE btcbot_backup_last_success_timestamp_seconds gauge'
  echo "btcbot_backup_last_success_timestamp_seconds{environment=\"$env_name\"} $(date -u +%s)"
} >"$prom_tmp" || { rm -f -- "$prom_tmp"; die "cannot write $prom_tmp"; }
chmod 644 "$prom_tmp"
mv -- "$prom_tmp" "$prom" || { rm -f -- "$prom_tmp"; die "cannot write $prom"; }
echo "backup_db: recorded success in $prom"
