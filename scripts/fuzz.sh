#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Run one libFuzzer harness from tests/fuzz/ under ASan+UBSan.
#
# Usage: scripts/fuzz.sh HARNESS [SECONDS] [-- LIBFUZZER_ARGS...]
#        scripts/fuzz.sh --list
#
#   HARNESS   fuzz_ops, fuzz_tls_enable, ... (tests/fuzz/HARNESS.c; its
#             dictionary tests/fuzz/HARNESS.dict, if any, is passed too)
#   SECONDS   -max_total_time (default 600)
#
# Builds (or reuses) a clang tree in $FUZZ_BUILD_DIR (default build-fuzz/):
#   CC=clang meson setup -Dfuzzing=libfuzzer -Db_sanitize=address,undefined
#       -Db_lundef=false
# then fuzzes a scratch copy of tests/fuzz/HARNESS.in/ so the committed
# seeds stay small.  Afterwards it prints where findings landed:
#   $FUZZ_WORK/HARNESS/corpus/    the grown corpus (not committed)
#   $FUZZ_WORK/HARNESS/artifacts/ crash-*, leak-*, timeout-*, oom-*
# To keep a finding as a regression seed, copy it into
# tests/fuzz/HARNESS.in/ (any name not starting with seed-) and check that
# `meson test --suite fuzz` in a gcc build replays it.
#
# Environment: FUZZ_BUILD_DIR, FUZZ_WORK (default /tmp/ktlsim-fuzz),
# FUZZ_JOBS (parallel libFuzzer jobs, default 1), CC (default clang),
# FUZZ_NULL_CIPHER=1 (a -Dnull_cipher=true tree, default build-fuzz-null/:
# fuzz_ops runs several times faster there and checks everything but the
# cryptography, docs/fuzzing.md "Null cipher builds").
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
NULL_CIPHER=false
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
if [ "${FUZZ_NULL_CIPHER:-0}" = 1 ]; then
	NULL_CIPHER=true
	BUILD=${FUZZ_BUILD_DIR:-build-fuzz-null}
fi
WORK=${FUZZ_WORK:-/tmp/ktlsim-fuzz}
JOBS=${FUZZ_JOBS:-1}

usage() {
	sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

if [ $# -lt 1 ]; then
	usage
fi
if [ "$1" = --list ]; then
	for f in tests/fuzz/fuzz_*.c; do
		basename "$f" .c
	done
	exit 0
fi
HARNESS=$1
shift
SECONDS_=600
if [ $# -gt 0 ] && [ "$1" != -- ]; then
	SECONDS_=$1
	shift
fi
if [ $# -gt 0 ] && [ "$1" = -- ]; then
	shift
fi
case $HARNESS in
*/* | '' | .*) usage ;;
esac
if [ ! -f "tests/fuzz/$HARNESS.c" ]; then
	echo "fuzz.sh: no tests/fuzz/$HARNESS.c" >&2
	exit 2
fi

if [ ! -f "$BUILD/build.ninja" ]; then
	CC=${CC:-clang} meson setup "$BUILD" \
	    -Dfuzzing=libfuzzer \
	    -Db_sanitize=address,undefined \
	    -Db_lundef=false \
	    -Dnull_cipher=$NULL_CIPHER \
	    -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD" "tests/fuzz/$HARNESS"
case $BUILD in
/*) BIN=$BUILD/tests/fuzz/$HARNESS ;;
*) BIN=$ROOT/$BUILD/tests/fuzz/$HARNESS ;;
esac

OUT=$WORK/$HARNESS
mkdir -p "$OUT/corpus" "$OUT/artifacts"
cp -n "tests/fuzz/$HARNESS.in"/* "$OUT/corpus/" 2>/dev/null || true

# A harness may come with a dictionary (tests/fuzz/HARNESS.dict).
DICT=()
if [ -f "tests/fuzz/$HARNESS.dict" ]; then
	DICT=(-dict="$ROOT/tests/fuzz/$HARNESS.dict")
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

echo "fuzz.sh: $HARNESS for ${SECONDS_}s, corpus $OUT/corpus" >&2
set +e
(
	cd "$OUT"
	if [ "$JOBS" -gt 1 ]; then
		"$BIN" -max_total_time="$SECONDS_" -jobs="$JOBS" \
		    -workers="$JOBS" -artifact_prefix="$OUT/artifacts/" \
		    -print_final_stats=1 "${DICT[@]}" "$@" "$OUT/corpus"
	else
		"$BIN" -max_total_time="$SECONDS_" \
		    -artifact_prefix="$OUT/artifacts/" \
		    -print_final_stats=1 "${DICT[@]}" "$@" "$OUT/corpus"
	fi
)
rc=$?
set -e

echo "fuzz.sh: exit status $rc" >&2
echo "fuzz.sh: corpus:    $OUT/corpus ($(ls "$OUT/corpus" | wc -l) files)" >&2
n=$(ls "$OUT/artifacts" | wc -l)
echo "fuzz.sh: findings:  $OUT/artifacts ($n files)" >&2
if [ "$n" -gt 0 ]; then
	ls -l "$OUT/artifacts" >&2
	echo "fuzz.sh: reproduce: $BIN $OUT/artifacts/<file>" >&2
fi
exit $rc
