#!/bin/sh
# dev-cert.sh DIR [HOSTNAME]: a development CA and server certificate for
# mailgate's listeners, created only when DIR/server.crt or DIR/server.key is
# missing (an admin's own pair is never overwritten).
#   DIR/dev-ca.crt       the development CA: trust it in a mail client to test
#   DIR/server.crt       leaf for HOSTNAME (default mail.example.test), localhost
#                        and 127.0.0.1 (as IP and DNS name: mbsync checks DNS names)
#   DIR/server.key       its key, mode 0600 (mailgate refuses a readable key)
set -eu
dir=${1:?usage: dev-cert.sh DIR [HOSTNAME]}
host=${2:-mail.example.test}
if [ -s "$dir/server.crt" ] && [ -s "$dir/server.key" ]; then
    exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key" 2>/dev/null
openssl req -x509 -new -key "$work/ca.key" -subj "/O=mailgate development/CN=mailgate development CA" \
    -days 3650 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$work/ca.crt"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/server.key" 2>/dev/null
openssl req -new -key "$work/server.key" -subj "/O=mailgate development/CN=$host" -out "$work/server.csr"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1\n' \
    "$host" > "$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 825 -sha256 -extfile "$work/server.ext" \
    -out "$work/server.crt" 2>/dev/null
install -m 0644 "$work/ca.crt" "$dir/dev-ca.crt"
install -m 0644 "$work/server.crt" "$dir/server.crt"
install -m 0600 "$work/server.key" "$dir/server.key"
echo "dev-cert: wrote $dir/server.crt and $dir/server.key for $host (CA: $dir/dev-ca.crt)"
