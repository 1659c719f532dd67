#!/usr/bin/env sh
# A local certificate authority and a certificate for localhost, 127.0.0.1 and ::1, where
# docker-compose.yml's default mounts look (TLS_CERT_FILE=./.voip/tls/cert.pem, TLS_KEY_FILE=./.voip/tls/key.pem):
# for trying the compose stack on one machine and for CI's smoke test (.github/workflows/images.yml).
# The same files, made the same way, as the dev stack's (packages/dev-stack/src/tls.ts): valid ones made
# by `pnpm dev` or ./scripts/dev are reused, so clients trust one CA, .voip/tls/ca.pem
# (NODE_EXTRA_CA_CERTS, curl --cacert, e2e/smoke/call-through-door.mjs --ca).
#
# The key is made readable by every user (0644): two images with different users read it, Nginx (uid 101)
# and coturn (nobody), and it certifies only localhost under a CA of this machine whose key is deleted
# once it has signed (no one can mint another certificate with it). Never for a real name: production
# mounts an ACME client's files (infra/nginx/README.md "TLS").
# Idempotent. Usage: infra/docker/local-cert.sh   (VOIP_TLS_DIR to write elsewhere; default .voip/tls)
set -eu
cd "$(dirname "$0")/../.."
command -v openssl >/dev/null || { echo "local-cert: openssl is required" >&2; exit 1; }

dir=${VOIP_TLS_DIR:-.voip/tls}
# compose mounts ACME_WEBROOT (default ./.voip/acme) too; made here so Docker does not create it as root.
mkdir -p "$dir" "$(dirname "$dir")/acme"

# Reused while the CA signs it and it is valid for at least another day (what tls.ts checks too).
if [ -f "$dir/ca.pem" ] && [ -f "$dir/cert.pem" ] && [ -f "$dir/key.pem" ] &&
  openssl verify -CAfile "$dir/ca.pem" "$dir/cert.pem" >/dev/null 2>&1 &&
  openssl x509 -in "$dir/cert.pem" -noout -checkend 86400 >/dev/null 2>&1; then
  chmod 0644 "$dir/key.pem"
  echo "local-cert: $dir/cert.pem is still valid; kept (CA: $dir/ca.pem)"
  exit 0
fi

tmp=$(mktemp -d "$dir.tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
# shellcheck disable=SC2086 # $ec is a list of options
openssl req -x509 $ec -keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" -days 3650 -sha256 \
  -subj '/CN=VoIP backend local development CA' \
  -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
# shellcheck disable=SC2086
openssl req -new $ec -keyout "$tmp/key.pem" -out "$tmp/server.csr" -subj '/CN=localhost' 2>/dev/null
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" -CAcreateserial \
  -out "$tmp/cert.pem" -days 397 -sha256 -extfile "$tmp/server.ext" 2>/dev/null
chmod 0644 "$tmp/ca.pem" "$tmp/cert.pem" "$tmp/key.pem"
for f in ca.pem cert.pem key.pem; do mv -f "$tmp/$f" "$dir/$f"; done
rm -f "$dir/ca-key.pem"
echo "local-cert: wrote $dir/cert.pem and $dir/key.pem (localhost, 127.0.0.1, ::1) signed by the CA $dir/ca.pem"
