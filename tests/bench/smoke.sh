#!/bin/sh
# A benchmark's smoke run for ctest: passes when the program exits 0 and prints the line EXPECT.
#   smoke.sh EXPECT PROGRAM [ARGS...]
# No timing is asserted: the numbers of a smoke run mean nothing.
expect=$1
shift
out=$("$@")
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || { echo "smoke.sh: $1 exited $rc" >&2; exit 1; }
printf '%s\n' "$out" | grep -q -- "$expect" || { echo "smoke.sh: no line with '$expect'" >&2; exit 1; }
