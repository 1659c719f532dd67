#!/usr/bin/env bash
# Starts coturn on loopback for development in the mode the call service uses (TURN_MODE):
#   TURN_MODE=rest          (default) REST-API credentials checked with TURN_SECRET
#   TURN_MODE=call-scoped   long-term users the call service writes to coturn's Redis user db
# Env: TURN_PORT (3478, UDP and TCP), TURN_TLS_PORT (5349, turns:), TURN_CERT and TURN_PKEY (PEM files
# of the certificate turns: serves: the stack passes the local CA's localhost certificate), TURN_REALM (voip.local), TURN_SECRET (rest), TURN_REDIS_URL (call-scoped,
# redis://host:port/db), TURN_PID_FILE, TURN_USERDB (rest: coturn's SQLite file, which it opens even
# though REST mode stores nothing; default coturn's shared one). Extra arguments are passed to turnserver.
# packages/dev-stack/src/stack.ts (scripts/dev, the e2e and browser tests) starts coturn through this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode="${TURN_MODE:-rest}"
args=(-c "$here/turnserver.dev.conf" "--listening-port=${TURN_PORT:-3478}" "--realm=${TURN_REALM:-voip.local}")
args+=("--tls-listening-port=${TURN_TLS_PORT:-5349}")
[ -n "${TURN_CERT:-}" ] && [ -n "${TURN_PKEY:-}" ] \
  || { echo "start-dev.sh: TURN_CERT and TURN_PKEY are required (turns: serves them)" >&2; exit 1; }
args+=("--cert=$TURN_CERT" "--pkey=$TURN_PKEY")
[ -n "${TURN_PID_FILE:-}" ] && args+=("--pidfile=$TURN_PID_FILE")
case "$mode" in
  rest)
    [ -n "${TURN_SECRET:-}" ] || { echo "start-dev.sh: TURN_SECRET is required in rest mode" >&2; exit 1; }
    args+=(--use-auth-secret "--static-auth-secret=$TURN_SECRET")
    [ -n "${TURN_USERDB:-}" ] && args+=("--userdb=$TURN_USERDB")
    ;;
  call-scoped)
    url="${TURN_REDIS_URL:?start-dev.sh: TURN_REDIS_URL is required in call-scoped mode}"
    hostport="${url#*://}"; hostport="${hostport#*@}"; db="${hostport##*/}"; hostport="${hostport%%/*}"
    host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=6379
    args+=(--lt-cred-mech "--redis-userdb=ip=$host port=$port dbname=$db connect_timeout=5")
    ;;
  *) echo "start-dev.sh: TURN_MODE must be rest or call-scoped" >&2; exit 1 ;;
esac
exec turnserver "${args[@]}" "$@"
