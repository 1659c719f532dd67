#!/usr/bin/env sh
# First-run helper for the compose stack: writes the ES256 key pair to ./secrets (readable by uid 1000,
# the images' node user) and creates .env from .env.example with every `change-me` value replaced by a
# random one. Idempotent: existing keys and an existing .env are left alone.
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

if [ ! -f .env ]; then
  umask 077
  while IFS= read -r line; do
    case "$line" in
      [A-Z]*=change-me*) printf '%s=%s\n' "${line%%=*}" "$(openssl rand -hex 24)" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < .env.example > .env
  echo "init-secrets: wrote .env (random secrets); review it before 'docker compose up'"
fi
