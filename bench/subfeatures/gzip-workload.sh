#!/bin/sh
# A short workload exercising /usr/bin/gzip with checks: every result is
# compared with what gzip must produce (round trips, kept files, modes and
# times, listing, integrity test, errors), so a stub or fake that changes
# gzip's behaviour makes the workload fail (exit 1). Used by
# bench/subfeatures/run (doc/subfeatures.md, "Measured").
set -u
GZIP_BIN=${GZIP_BIN:-/usr/bin/gzip}
unset GZIP
d=gzip-workload.$$
rm -rf "$d" && mkdir "$d" && cd "$d" || exit 1
fail() { echo "gzip-workload: $*" >&2; exit 1; }
check() { [ "$2" = "$3" ] || fail "$1: got '$3', want '$2'"; }

i=0; : > a.txt
while [ $i -lt 300 ]; do printf 'line %d: the quick brown fox jumps over the lazy dog\n' $i >> a.txt; i=$((i+1)); done
cp a.txt orig.txt
chmod 640 a.txt
touch -d '2020-01-02 03:04:05' a.txt
# compress in place: a.txt goes, a.txt.gz keeps mode and mtime
"$GZIP_BIN" a.txt || fail "gzip a.txt"
[ ! -e a.txt ] && [ -f a.txt.gz ] || fail "a.txt not replaced by a.txt.gz"
check mode 640 "$(stat -c %a a.txt.gz)"
check mtime "2020-01-02 03:04:05" "$(date -r a.txt.gz '+%Y-%m-%d %H:%M:%S')"
# integrity test and listing
"$GZIP_BIN" -t a.txt.gz || fail "gzip -t"
check list "$(wc -c < orig.txt)" "$("$GZIP_BIN" -l a.txt.gz | awk 'NR==2{print $2}')"
# decompress in place: content, mode and mtime back
"$GZIP_BIN" -d a.txt.gz || fail "gzip -d"
cmp -s a.txt orig.txt || fail "round trip differs"
check mode2 640 "$(stat -c %a a.txt)"
check mtime2 "2020-01-02 03:04:05" "$(date -r a.txt '+%Y-%m-%d %H:%M:%S')"
# keep, stdout, levels, stdin to stdout
"$GZIP_BIN" -k -9 a.txt || fail "gzip -k"
[ -f a.txt ] && [ -f a.txt.gz ] || fail "-k did not keep a.txt"
check stdout "$(cat orig.txt | cksum)" "$("$GZIP_BIN" -dc a.txt.gz | cksum)"
check pipe "$(cat orig.txt | cksum)" "$(cat orig.txt | "$GZIP_BIN" -1 | "$GZIP_BIN" -d | cksum)"
# refuses to overwrite without -f, overwrites with -f
if "$GZIP_BIN" a.txt 2>/dev/null </dev/null; then fail "overwrote a.txt.gz without -f"; fi
"$GZIP_BIN" -f a.txt || fail "gzip -f"
# a directory, recursively
mkdir -p dir/sub && cp orig.txt dir/x && cp orig.txt dir/sub/y
"$GZIP_BIN" -r dir || fail "gzip -r"
[ -f dir/x.gz ] && [ -f dir/sub/y.gz ] || fail "-r did not compress the tree"
"$GZIP_BIN" -dr dir || fail "gzip -dr"
cmp -s dir/sub/y orig.txt || fail "-dr round trip"
# corrupt input is detected
printf 'not gzip data' > bad.gz
if "$GZIP_BIN" -t bad.gz 2>/dev/null; then fail "corrupt input accepted"; fi
# a missing file: status 1
"$GZIP_BIN" no-such-file 2>/dev/null; check missing 1 "$?"
cd .. && rm -rf "$d"
echo "gzip-workload: ok"
