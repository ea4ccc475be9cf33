#!/bin/sh
# test-ca.sh DIR: a throwaway PKI for tests, built with the openssl CLI into DIR
# (created if missing; existing files are overwritten). EC P-256 keys for speed.
#   ca.crt/ca.key            test CA
#   server.crt/server.key    leaf for localhost, mail.example.test, 127.0.0.1 (IP and DNS)
#   intermediate.crt/.key    intermediate CA under ca
#   chain.crt/chain.key      leaf for localhost under the intermediate; chain.crt
#                            holds the leaf then the intermediate (a chain file)
#   wrong-host.crt/.key      leaf from the same CA for wrong.example.test only
#   other-ca.crt/.key        an unrelated CA (for "unknown CA" tests)
#   other-server.crt/.key    leaf for localhost signed by other-ca
#   garbage.key              not a key; encrypted.key: server.key under a passphrase
set -eu
dir=${1:?usage: test-ca.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 8)"; }

make_ca() { # name subject
    newkey "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
}

make_intermediate() { # name subject ca
    newkey "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -set_serial "$(serial)" \
        -days 3650 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

make_leaf() { # name subject san ca
    newkey "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$4.crt" -CAkey "$4.key" -set_serial "$(serial)" \
        -days 365 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

make_ca ca "/O=mailgate test/CN=mailgate test CA"
make_ca other-ca "/O=somebody else/CN=unrelated CA"
make_leaf server "/O=mailgate test/CN=localhost" \
    "DNS:localhost,DNS:mail.example.test,DNS:127.0.0.1,IP:127.0.0.1" ca
make_leaf wrong-host "/O=mailgate test/CN=wrong.example.test" "DNS:wrong.example.test" ca
make_leaf other-server "/O=somebody else/CN=localhost" "DNS:localhost,IP:127.0.0.1" other-ca
make_intermediate intermediate "/O=mailgate test/CN=mailgate test intermediate" ca
make_leaf chain-leaf "/O=mailgate test/CN=chained localhost" "DNS:localhost" intermediate
cat chain-leaf.crt intermediate.crt > chain.crt
mv chain-leaf.key chain.key
rm -f chain-leaf.crt
echo "this is not a PEM private key" > garbage.key
openssl pkey -in server.key -aes256 -passout pass:secret -out encrypted.key
chmod 644 ./*.crt
echo "test PKI written to $dir"
