#!/usr/bin/env bash
# Renders this folder's Janus configuration into JANUS_CONFIG_DIR and starts Janus in the foreground.
# packages/dev-stack (./scripts/dev, turbo dev, the test stack), packages/testkit and the docker-compose
# `janus` service all start Janus through this script.
# Env: JANUS_API_SECRET and JANUS_ADMIN_SECRET (required, at least 16 characters), JANUS_CONFIG_DIR
# (required: where the rendered .jcfg files go), JANUS_HTTP_IP (127.0.0.1), JANUS_HTTP_PORT (8088, the
# Janus API), JANUS_ADMIN_PORT (7088, the admin API), JANUS_RTP_PORTS (20000-20199, the UDP range for
# media), JANUS_PUBLIC_IP (empty: the host's own addresses; set it behind a 1:1 NAT), JANUS_DEBUG_LEVEL (3),
# JANUS_LIB_DIR (Debian's plugin folder). Extra arguments are passed to janus.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
die() { echo "janus/start.sh: $*" >&2; exit 1; }
: "${JANUS_CONFIG_DIR:?janus/start.sh: JANUS_CONFIG_DIR is required}"
for v in JANUS_API_SECRET JANUS_ADMIN_SECRET; do
  val="${!v:-}"
  [ "${#val}" -ge 16 ] || die "$v is required (at least 16 characters)"
  case "$val" in *[!A-Za-z0-9_.~-]*) die "$v may hold only letters, digits and _ . ~ -";; esac
  case "$val" in change-me*) die "$v is the .env.example placeholder: set a real secret (infra/docker/init-secrets.sh)";; esac
done
lib="${JANUS_LIB_DIR:-}"
if [ -z "$lib" ]; then
  for d in /usr/lib/x86_64-linux-gnu/janus /usr/lib/aarch64-linux-gnu/janus /usr/lib/janus /usr/local/lib/janus /opt/janus/lib/janus; do
    [ -d "$d/plugins" ] && { lib="$d"; break; }
  done
fi
[ -n "$lib" ] || die "Janus's plugin folder not found: install Debian's janus package (./scripts/setup) or set JANUS_LIB_DIR"
nat=""
[ -n "${JANUS_PUBLIC_IP:-}" ] && nat="nat_1_1_mapping = \"$JANUS_PUBLIC_IP\""
mkdir -p "$JANUS_CONFIG_DIR"
chmod 700 "$JANUS_CONFIG_DIR"
for f in janus.jcfg janus.transport.http.jcfg janus.plugin.videoroom.jcfg; do
  sed -e "s|@@CONFIG_DIR@@|$JANUS_CONFIG_DIR|g" \
      -e "s|@@LIB_DIR@@|$lib|g" \
      -e "s|@@DEBUG_LEVEL@@|${JANUS_DEBUG_LEVEL:-3}|g" \
      -e "s|@@API_SECRET@@|$JANUS_API_SECRET|g" \
      -e "s|@@ADMIN_SECRET@@|$JANUS_ADMIN_SECRET|g" \
      -e "s|@@RTP_PORTS@@|${JANUS_RTP_PORTS:-20000-20199}|g" \
      -e "s|@@NAT_LINES@@|$nat|g" \
      -e "s|@@HTTP_IP@@|${JANUS_HTTP_IP:-127.0.0.1}|g" \
      -e "s|@@HTTP_PORT@@|${JANUS_HTTP_PORT:-8088}|g" \
      -e "s|@@ADMIN_PORT@@|${JANUS_ADMIN_PORT:-7088}|g" \
      "$here/$f" > "$JANUS_CONFIG_DIR/$f.tmp"
  chmod 600 "$JANUS_CONFIG_DIR/$f.tmp"
  mv "$JANUS_CONFIG_DIR/$f.tmp" "$JANUS_CONFIG_DIR/$f"
done
exec janus -C "$JANUS_CONFIG_DIR/janus.jcfg" -F "$JANUS_CONFIG_DIR" -o "$@"
