#!/usr/bin/env sh
# First-run helper for the compose stack: writes the ES256 key pair to ./secrets (readable by uid 1000,
# the images' node user) and gives every `change-me` placeholder secret in .env (created from
# .env.example when missing) a random value. Idempotent: existing keys and every other .env line
# (real secrets included) are left alone.
set -eu
cd "$(dirname "$0")/../.."
command -v openssl >/dev/null || { echo "init-secrets: openssl is required" >&2; exit 1; }

mkdir -p secrets
if [ ! -f secrets/jwt-private.pem ]; then
  openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out secrets/jwt-private.pem
  openssl ec -in secrets/jwt-private.pem -pubout -out secrets/jwt-public.pem 2>/dev/null
  chmod 0400 secrets/jwt-private.pem
  chmod 0444 secrets/jwt-public.pem
  # The containers run as uid 1000; chown needs root, so say what to do when it is not possible.
  chown 1000 secrets/jwt-private.pem 2>/dev/null || echo "init-secrets: run 'sudo chown 1000 secrets/jwt-private.pem' so the auth container can read it" >&2
  echo "init-secrets: wrote secrets/jwt-private.pem and secrets/jwt-public.pem"
fi

# .env: created from .env.example when missing; in a new or an existing .env (docker-compose.yml's header
# says `cp .env.example .env` first), every value still starting with `change-me` gets a random one and
# every other line is kept as it is. The services refuse to start with a `change-me` value.
umask 077
created=""
if [ ! -f .env ]; then
  cp .env.example .env
  created=1
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
replaced=""
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    [A-Z]*=change-me* | [A-Z]*=\"change-me* | [A-Z]*=\'change-me*)
      name=${line%%=*}
      printf '%s=%s\n' "$name" "$(openssl rand -hex 24)"
      replaced="$replaced $name"
      ;;
    *) printf '%s\n' "$line" ;;
  esac
done < .env > "$tmp"
if [ -n "$replaced" ]; then
  # Rewritten in place: the file keeps its owner and mode.
  cat "$tmp" > .env
  echo "init-secrets: random values for the placeholder secrets in .env:$replaced"
fi
[ -z "$created" ] || echo "init-secrets: wrote .env from .env.example; review it before 'docker compose up'"
