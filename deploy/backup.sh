#!/usr/bin/env bash
# Nightly backup of one Sertel installation: the PostgreSQL database and the instance directory (embedded
# PSrE store with its wrapped CA keys, uploaded documents when they are files). Restore: docs/operations.md.
# Run as root from cron or a systemd timer; BACKUP_DIR should be on another machine or encrypted media.
set -euo pipefail
set -a; . /etc/sertel/sertel.env; set +a
BACKUP_DIR=${BACKUP_DIR:-/var/backups/sertel}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$BACKUP_DIR/$stamp"
mkdir -p "$target"
chmod 700 "$BACKUP_DIR" "$target"
# libpq URL from the SQLAlchemy one (drop the +psycopg driver name).
pg_url=${SERTEL_DATABASE_URL/postgresql+psycopg:/postgresql:}
pg_dump --format=custom --no-owner --file="$target/sertel.dump" "$pg_url"
# The PSrE's SQLite store is copied with SQLite's online backup, never with cp while it is in use.
if [ -f "$SERTEL_INSTANCE_DIR/psre/psre.sqlite3" ]; then
  python3 - "$SERTEL_INSTANCE_DIR/psre/psre.sqlite3" "$target/psre.sqlite3" <<'PY'
import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close(); src.close()
PY
fi
# Document files are content-addressed and never change: rsync-style copies are consistent.
tar --create --gzip --file="$target/instance.tar.gz" --directory="$SERTEL_INSTANCE_DIR" --exclude=psre/psre.sqlite3\* .
sha256sum "$target"/* > "$target/SHA256SUMS"
echo "backup: $target"
