#!/bin/bash
# migration.tls: migration over TLS with certificates, no pre-shared key. The destination on
# host B has a certificate naming its address and trusts one CA; a source whose certificate
# comes from another CA is refused in the handshake (kagami migrate fails, that source runs on,
# the destination listens on), then the source with a certificate of the right CA migrates the
# running migrate_dirty guest, which counts on at the destination.
# Usage: tls.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
command -v openssl >/dev/null || skip "the openssl command is missing (it makes the certificates)"
use_two_hosts
pki=$work/pki
mkdir "$pki"

# make_ca NAME: a self-signed CA, $pki/NAME.crt and .key.
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=kagami test CA $1" -keyout "$pki/$1.key" -out "$pki/$1.crt" 2>/dev/null
}

# make_cert NAME CA SAN: a certificate for NAME signed by CA, with subjectAltName SAN.
make_cert() {
  local name=$1 ca=$2 san=$3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
    -CAcreateserial -days 2 -out "$pki/$name.crt" \
    -extfile <(printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\n' "$san") 2>/dev/null
}

# tls_options NAME: kagami run's TLS options for NAME's certificate, trusting the CA "ca".
tls_options() {
  echo --tls-cert "$pki/$1.crt" --tls-key "$pki/$1.key" --tls-ca "$pki/ca.crt"
}

make_ca ca
make_ca other-ca
make_cert destination ca "IP:$addr_b"
make_cert source ca "DNS:source.example"
make_cert intruder other-ca "DNS:intruder.example"
log "certificates: $(openssl x509 -in "$pki/destination.crt" -noout -subject -ext subjectAltName |
  tr '\n' ' ')"

guest_cmdline="wss=8M rate=16"
# shellcheck disable=SC2046 # the options are words
start_source source "$ns_a" 64M "" $(tls_options source)
# shellcheck disable=SC2046
start_source intruder "$ns_a" 64M "" $(tls_options intruder)
# shellcheck disable=SC2046
start_vm destination "$ns_b" "$guest_cmdline" --memory 64M --incoming "tcp:$addr_b:$port" \
  --api-socket "$work/destination.sock" $(tls_options destination)
wait_until 30 "the destination to listen on $addr_b:$port" listening "$ns_b" "$port"

log "a source with a certificate from another CA: must be refused"
lines=$(log_lines destination)
migrate wrong-ca intruder --to "tcp:$addr_b:$port"
[[ $migrate_status -eq 1 ]] ||
  fail "kagami migrate with a certificate from another CA exited $migrate_status, not 1"
grep -qiE 'TLS|certificate|alert' "$work/wrong-ca.out" ||
  fail "kagami migrate did not say that the TLS handshake failed"
expect_source_survived intruder
expect_destination_waits destination "$ns_b" "$lines"
grep -q 'certificate' "$work/destination.log" ||
  fail "the destination did not say it refused the certificate"

log "the right CA: must succeed"
migrate migrate source --to "tcp:$addr_b:$port"
expect_migrated source destination
quit_vm destination
quit_vm intruder
log "PASS"
