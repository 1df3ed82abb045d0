#!/bin/sh
# The demo's "test suite": runs wordfreq next to ordinary tools, like a
# package's `make check` would.
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'the quick brown fox\njumps over the lazy dog\n' > "$dir/a.txt"
ls "$dir" > /dev/null
n=$(./wordfreq "$dir/a.txt")
[ "$n" = 9 ] || { echo "FAIL: expected 9 words, got $n"; exit 1; }
sed -n 1p "$dir/a.txt" | grep -q quick
echo "PASS: wordfreq counted $n words"
