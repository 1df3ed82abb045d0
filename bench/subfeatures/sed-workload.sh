#!/bin/sh
# A short workload exercising /usr/bin/sed with checks: every command's output
# is compared with what GNU sed must produce, so a stub or fake that changes
# sed's behaviour makes the workload fail (exit 1). Used by
# bench/subfeatures/run to compare whole-syscall verdicts with per-feature and
# per-pseudo-file verdicts (doc/subfeatures.md, "Measured").
#
# It writes only into a directory under the current one (loupe keeps the tree
# private) and needs nothing but sed, sh, printf and cmp.
set -u
SED=${SED:-/usr/bin/sed}
d=sed-workload.$$
rm -rf "$d" && mkdir "$d" && cd "$d" || exit 1
fail() { echo "sed-workload: $*" >&2; exit 1; }
check() { # check NAME EXPECTED ACTUAL
	[ "$2" = "$3" ] || fail "$1: got '$3', want '$2'"
}

printf 'one\ntwo\nthree\nfour\n' > in.txt

# substitution on stdin, global flag
check subst "bbb-x" "$(printf 'aaa-x\n' | "$SED" 's/a/b/g')"
# line selection and -n
check print "two" "$("$SED" -n '2p' in.txt)"
check range "two three" "$("$SED" -n '2,3p' in.txt | tr '\n' ' ' | "$SED" 's/ $//')"
# extended regexps with back-references
check ere "two-one" "$(printf 'one two\n' | "$SED" -E 's/([a-z]+) ([a-z]+)/\2-\1/')"
# a script file, addresses and the hold space (tac)
printf '1!G\nh\n$!d\n' > tac.sed
check tac "four three two one" "$("$SED" -f tac.sed in.txt | tr '\n' ' ' | "$SED" 's/ $//')"
# several files with -s and $
printf 'x\ny\n' > b.txt
check separate "four y" "$("$SED" -s -n '$p' in.txt b.txt | tr '\n' ' ' | "$SED" 's/ $//')"
# the w command writes a file
"$SED" -n '/o/w out.txt' in.txt || fail "w command"
check wfile "one two four" "$(tr '\n' ' ' < out.txt | "$SED" 's/ $//')"
# in-place edit with a backup: temporary file, rename, permissions kept
chmod 640 in.txt
"$SED" -i.bak 's/^t/T/' in.txt || fail "-i"
check inplace "one Two Three four" "$(tr '\n' ' ' < in.txt | "$SED" 's/ $//')"
check backup "one two three four" "$(tr '\n' ' ' < in.txt.bak | "$SED" 's/ $//')"
check mode "640" "$(stat -c %a in.txt)"
# multibyte text in a UTF-8 locale, case conversion
if locale -a 2>/dev/null | grep -qi '^C\.utf-\?8$'; then
	check utf8 "ÉTÉ" "$(printf 'été\n' | LC_ALL=C.UTF-8 "$SED" 's/.*/\U&/')"
	check utf8len "3" "$(printf 'été\n' | LC_ALL=C.UTF-8 "$SED" 's/./x/g' | tr -d '\n' | wc -c)"
fi
# y command, line numbers, NUL-separated input
check y "ABC" "$(printf 'abc\n' | "$SED" 'y/abc/ABC/')"
check number "4" "$("$SED" -n '$=' in.txt)"
check zero "a-b-" "$(printf 'a\0b\0' | "$SED" -z 's/$/-/' | tr -d '\0')"
# a large input: buffered reads and writes
i=0; : > big.txt
while [ $i -lt 200 ]; do printf 'line %d of the big file with some text\n' $i >> big.txt; i=$((i+1)); done
check big "200" "$("$SED" -n 's/line \([0-9]*\) .*/\1/p' big.txt | wc -l)"
check bigsum "$(cat big.txt | wc -c)" "$("$SED" '' big.txt | wc -c)"
# an error is reported with a non-zero status
if "$SED" 's/unterminated' in.txt 2>err.txt; then fail "bad script accepted"; fi
grep -q 'unterminated' err.txt || fail "error message: $(cat err.txt)"
# a missing file: error on stderr, status 2
"$SED" p no-such-file 2>/dev/null; check missing "2" "$?"
cd .. && rm -rf "$d"
echo "sed-workload: ok"
