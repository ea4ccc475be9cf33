#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, AddressSanitizer) of the pure modules
# that read hostile input, beside the deterministic fuzz tests of `make test`.
#   scripts/fuzz.sh imap|smtp|mail|http [SECONDS]     (default 300)
# Builds the harness in fuzz/ with the modules it needs into .build-fuzz/ and
# runs it in one process for SECONDS; the corpus grows in .build-fuzz/corpus-T
# and a crash is left as .build-fuzz/crash-* (rerun: .build-fuzz/fuzz-T FILE).
# Seeds: a few transcripts, and for mail the bounces in ../shared/corpus
# (or MAILGATE_CORPUS) when present. Exit 1 when the fuzzer found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz.sh imap|smtp|mail|http [SECONDS]}
seconds=${2:-300}
out=.build-fuzz
mkdir -p "$out/$target"
flags=(-sanitize=fuzzer,address -parse-as-library -O)

# One static library per module, in dependency order; each sees the ones before it.
module() {
  local name=$1
  find "Sources/$name" -name '*.swift' -print0 | xargs -0 swiftc "${flags[@]}" -emit-module -emit-library -static \
    -module-name "$name" -I "$out/$target" -emit-module-path "$out/$target/$name.swiftmodule" \
    -o "$out/$target/lib$name.a"
}
case $target in
  imap) modules=(MailCore IMAPProtocol) ;;
  smtp) modules=(MailCore SMTPProtocol) ;;
  mail) modules=(MailCore MIME Bounce Threading) ;;
  http) modules=(MailCore HTTPProtocol) ;;
  *) echo "fuzz.sh: no target $target (imap, smtp, mail, http)" >&2; exit 2 ;;
esac
harness=fuzz/$(case $target in imap) echo IMAPProtocol ;; smtp) echo SMTPProtocol ;; mail) echo Mail ;; http) echo HTTPProtocol ;; esac).swift
libraries=()
for name in "${modules[@]}"; do
  module "$name"
  libraries=("$out/$target/lib$name.a" "${libraries[@]}")
done
# gold warns about every ASan symbol it cannot export: kept in a file, shown only if the link fails.
swiftc "${flags[@]}" -I "$out/$target" "$harness" "${libraries[@]}" -o "$out/fuzz-$target" 2>"$out/link-$target.log" \
  || { cat "$out/link-$target.log" >&2; exit 2; }

corpus=$out/corpus-$target
mkdir -p "$corpus"
/usr/bin/python3 - "$target" "$corpus" "${MAILGATE_CORPUS:-../shared/corpus}" <<'PYEOF'
import os, sys, glob
target, corpus, shared = sys.argv[1:4]
seeds = {
    "imap": [(m, s) for m in range(10) for s in (
        b"a LOGIN alice secret\r\nb LOGIN {5}\r\nalice {6+}\r\nsecret\r\nc AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
        b"a CAPABILITY\r\nb ID NIL\r\nc STARTTLS\r\nd NOOP\r\ne AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nf LOGOUT\r\n",
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS ID LITERAL+ SASL-IR AUTH=PLAIN] hi\r\nM1 OK begin\r\nM2 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n",
        b"* OK hi\r\n* CAPABILITY IMAP4rev1 IDLE\r\nM1 OK\r\n* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\nM2 OK [READ-WRITE] s\r\n"
        b"* SEARCH 3 4\r\nM3 OK s\r\n* 1 FETCH (UID 3 RFC822.SIZE 10 BODY[] {10}\r\n0123456789)\r\nM4 OK f\r\n+ idling\r\n")],
    "smtp": [(m, s) for m in (0, 2, 4, 6, 8, 70) for s in (
        b"EHLO x\r\nSTARTTLS\r\nEHLO y\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@example.test> SIZE=100 "
        b"BODY=8BITMIME MT-PRIORITY=3 HOLDFOR=60\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE\r\nDATA\r\n"
        b"From: alice@example.test\r\n\r\nhi\r\n..dot\r\n.\r\nQUIT\r\n",
        b"EHLO x\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.org>\r\n"
        b"BDAT 5\r\nhelloBDAT 0 LAST\r\nRSET\r\n",
        b"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<app@example.test>\r\nDATA\r\nSubject: b\r\n\r\nx\n.\nMAIL FROM:<a@b>\r\n.\r\n")],
    "http": [(m, s) for m in (0, 1) for s in (
        b"POST /u/abc?x=1 HTTP/1.1\r\nHost: mail.example.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 26\r\n\r\nList-Unsubscribe=One-Click GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"a\r\n{\"access_t\r\n0\r\n\r\nHTTP/1.0 500 x\r\nContent-Length: 3\r\n\r\nabc")],
    "mail": [(0, b"From: a@example.org\r\nTo: b@example.test\r\nSubject: Re: x\r\nMessage-ID: <1@x>\r\n"
                 b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
                 b"--B\r\n\r\ngone\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
                 b"Final-Recipient: rfc822; c@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n")],
}[target]
for index, (mode, data) in enumerate(seeds):
    with open(os.path.join(corpus, f"seed{index}"), "wb") as f:
        f.write(bytes([mode, index * 5 % 256]) + data if target != "mail" else bytes([mode]) + data)
if target == "mail":
    for path in sorted(glob.glob(os.path.join(shared, "bounces", "*.eml")))[:400]:
        with open(path, "rb") as source, open(os.path.join(corpus, "corpus-" + os.path.basename(path)), "wb") as f:
            f.write(b"\0" + source.read())
PYEOF

cd "$out"
status=0
./"fuzz-$target" -max_len=16384 -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
  "corpus-$target" >"fuzz-$target.log" 2>&1 || status=$?
tail -6 "fuzz-$target.log"
if ls crash-* leak-* timeout-* oom-* >/dev/null 2>&1; then
  echo "fuzz.sh: found: $(ls crash-* leak-* timeout-* oom-* 2>/dev/null | tr '\n' ' ')(log: $out/fuzz-$target.log)" >&2
  exit 1
fi
exit $status
