#!/usr/bin/env bash
# Installs the Debian packages mailgate builds and tests with. Idempotent:
# does nothing when every package is present. Services the packages would
# start (postfix on 25, dovecot on 143/993) are kept from starting.
set -euo pipefail

packages=(
  pkg-config libssl-dev libpq-dev libsasl2-dev libsasl2-modules libcrypt-dev
  postgresql-15 postgresql-client-15 openssl ca-certificates curl
  swaks libnet-ssleay-perl msmtp python3 python3-aiosmtpd python3-pytest python3-prometheus-client
  postfix dovecot-imapd isync socat
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string mailgate.test" | debconf-set-selections

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
