#!/bin/sh
# run.sh: runs every libFuzzer harness for a short fixed time over a copy of
# its seed corpus, and fails if any finds a crash, a leak or a hang.  The
# crashing input is printed in base64 and kept as tests/fuzz/crash-TARGET-*
# in the build tree.
#
#   FUZZ_SECONDS   time per harness (default 10)
#   FUZZ_TARGETS   which harnesses (default: frame conf info query proxystats
#                  cmdstats monline)
#   CCNODE_SKIP_FUZZ   set: skip (exit 77), as the sanitizer re-run does
set -u

if [ -n "${CCNODE_SKIP_FUZZ:-}" ]; then
	echo "CCNODE_SKIP_FUZZ is set: not fuzzing"
	exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
builddir=${top_builddir:-.}
secs=${FUZZ_SECONDS:-10}
targets=${FUZZ_TARGETS:-"frame conf info query proxystats cmdstats monline"}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccnode-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fail=0
for t in $targets; do
	bin=$builddir/tests/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz_$t: $bin is not built"
		fail=1
		continue
	fi
	mkdir -p "$tmp/corpus-$t"
	cp "$srcdir/tests/fuzz/corpus/$t/"* "$tmp/corpus-$t/" 2>/dev/null
	dict=
	[ -f "$srcdir/tests/fuzz/$t.dict" ] && dict=-dict=$srcdir/tests/fuzz/$t.dict
	start=$(date +%s)
	if "$bin" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=20 \
	    -max_len=65536 -print_final_stats=1 $dict \
	    -artifact_prefix="$tmp/crash-$t-" "$tmp/corpus-$t" \
	    >"$tmp/$t.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$tmp/$t.log")
		echo "ok   fuzz_$t: ${runs:-?} runs in $(( $(date +%s) - start )) s"
	else
		echo "FAIL fuzz_$t:"
		grep -v '^#[0-9]' "$tmp/$t.log" | tail -60
		for a in "$tmp/crash-$t-"*; do
			[ -f "$a" ] || continue
			echo "input $(basename "$a") (base64):"
			base64 "$a"
			cp "$a" "$builddir/tests/fuzz/" 2>/dev/null
		done
		fail=1
	fi
done
exit $fail
