#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Install dependencies, build, and run ktlsim's whole test suite:
#
#   1. scripts/setup.sh (packages + default build in ./build);
#   2. `meson test` in ./build with the default test setup but the
#      hostile-client suite (abuse), plus the lint suite if the default
#      setup leaves it out (and the slow/soak suites with --slow);
#   3. an ASan+UBSan build in ./build-asan running the unit, conformance,
#      fuzz (corpus replay), faults and interop suites (abuse included),
#      without the bulk interop-heavy tests, sim_server's NIC mode (nic)
#      and the conformance groups' reruns with the non-default crypto
#      backends (those run in ./build only);
#   4. a ThreadSanitizer build in ./build-tsan running the tsan suite;
#   5. a build without INVARIANTS (-Dinvariants=false, KASSERT() compiled
#      out as in a production kernel) in ./build-noinv running the unit,
#      conformance (default backend) and fuzz suites.
#
# Steps 3 to 5 build only what their suites run (build_tests).
#
# The last line printed is always `N passed, N failed` (`, N skipped`
# when some were skipped), summed over every run from the JSON test logs
# meson writes.  The exit status is non-zero if any test or build failed.
#
# Usage: scripts/test.sh [--slow] [--no-setup]
#        scripts/test.sh --summarize TESTLOG.json...
#
# Environment:
#   TEST_SUITES="a b"   run only these suites in ./build (default: the
#                       default test setup)
#   ASAN_SUITES="a b"   suites for ./build-asan (default: $TEST_SUITES if
#                       set, else "unit conformance fuzz faults interop")
#   SKIP_ASAN=1         skip the sanitizer build
#   SKIP_TSAN=1         skip the ThreadSanitizer build (suite 'tsan')
#   TSAN_SUITES="a b"   suites for ./build-tsan (default: tsan)
#   SKIP_NOINV=1        skip the build without INVARIANTS
#   NOINV_SUITES="a b"  suites for ./build-noinv (default: unit
#                       conformance fuzz)
#   SLOW=1              same as --slow
#
set -uo pipefail

ORIG_PWD=$PWD
cd "$(dirname "$0")/.." || exit 1

BUILD_DIR=build
ASAN_DIR=build-asan
SLOW=${SLOW:-0}
RUN_SETUP=1

# Tests that could not run at all (a build that failed, a meson test that
# exited non-zero without writing a log) count as one failure each.
EXTRA_FAILED=0
# JSON test logs to sum at the end.
LOGS=()
# Non-zero once anything failed.
STATUS=0

log() {
	printf 'test.sh: %s\n' "$*" >&2
}

usage() {
	sed -n '/^# Usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

python() {
	local py
	for py in /usr/bin/python3 python3; do
		if command -v "$py" >/dev/null 2>&1 &&
		    "$py" -c 'import json' >/dev/null 2>&1; then
			"$py" "$@"
			return
		fi
	done
	return 127
}

# summarize FILE...: print "PASSED FAILED SKIPPED" for meson testlog.json
# files (one JSON object per line, with a "result" field per test).
# Uses python3 when it is there (it is once meson is installed), else jq,
# else awk.
summarize() {
	local rc
	[ "$#" -gt 0 ] || { echo "0 0 0"; return 0; }
	python - "$@" <<'EOF'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line).get("result", "")
            except ValueError:
                failed += 1
                continue
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT, ...
                failed += 1
print(passed, failed, skipped)
EOF
	rc=$?
	# 127: no usable python3; anything else is python's verdict.
	[ "$rc" -eq 127 ] || return "$rc"
	if command -v jq >/dev/null 2>&1; then
		cat "$@" | jq -rs '
		    map(.result) as $r |
		    ($r | map(select(. == "OK" or . == "EXPECTEDFAIL")) |
		        length) as $p |
		    ($r | map(select(. == "SKIP")) | length) as $s |
		    "\($p) \(($r | length) - $p - $s) \($s)"' && return 0
	fi
	awk '
	    /"result": *"/ {
		r = $0
		sub(/.*"result": *"/, "", r)
		sub(/".*/, "", r)
		if (r == "OK" || r == "EXPECTEDFAIL")
			p++
		else if (r == "SKIP")
			s++
		else
			f++
	    }
	    END { printf "%d %d %d\n", p, f, s }' "$@"
}

# final_line PASSED FAILED SKIPPED
final_line() {
	if [ "$3" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$1" "$2" "$3"
	else
		printf '%d passed, %d failed\n' "$1" "$2"
	fi
}

# meson_setup DIR [ARGS...]: configure, or reconfigure an existing DIR.
meson_setup() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# list_tests DIR [SUITE]: names of the tests the default setup (or SUITE)
# selects, one per line, empty if none.
list_tests() {
	local dir=$1
	shift
	if [ "$#" -gt 0 ]; then
		set -- --suite "$1"
	fi
	meson test -C "$dir" --no-rebuild --list "$@" 2>/dev/null |
	    grep ' / ' || true
}

# existing_suites DIR SUITE...: the SUITEs that have at least one test.
existing_suites() {
	local dir=$1 s
	shift
	for s in "$@"; do
		if [ -n "$(list_tests "$dir" "$s")" ]; then
			printf '%s\n' "$s"
		else
			log "$dir: no tests in suite '$s', skipping it"
		fi
	done
}

# run_meson_test DIR NAME [MESON TEST ARGS...]: run `meson test`, logging
# to DIR/meson-logs/testlog-NAME.json, and record the result.
run_meson_test() {
	local dir=$1 name=$2 rc json
	shift 2
	json="$dir/meson-logs/testlog-$name.json"
	rm -f "$json"
	log "meson test -C $dir${*:+ $*} ($name)"
	meson test -C "$dir" --print-errorlogs --logbase "testlog-$name" "$@"
	rc=$?
	if [ -s "$json" ]; then
		LOGS+=("$json")
	elif [ "$rc" -ne 0 ]; then
		log "$dir: meson test ($name) failed (exit $rc) and ran no test"
		EXTRA_FAILED=$((EXTRA_FAILED + 1))
	fi
	[ "$rc" -eq 0 ] || STATUS=1
}

# test_outputs DIR [--suite S | --no-suite S]...: the files, relative to
# DIR, that the tests so selected run: each test's program and the
# targets it depends on or takes as arguments (`meson introspect
# --tests`).  Empty if no test is selected.
test_outputs() {
	local dir=$1
	shift
	python - "$dir" "$@" <<'EOF'
import json, os, subprocess, sys

d, args = sys.argv[1], sys.argv[2:]
want = {v for a, v in zip(args, args[1:]) if a == "--suite"}
skip = {v for a, v in zip(args, args[1:]) if a == "--no-suite"}


def introspect(what):
    return json.loads(subprocess.check_output(
        ["meson", "introspect", d, "--" + what]))


files = {t["id"]: t["filename"] for t in introspect("targets")}
outs = set()
for t in introspect("tests"):
    # meson lists a test's suites as PROJECT:SUITE.
    suites = {s.split(":")[-1] for s in t["suite"]}
    if want and not suites & want or suites & skip:
        continue
    for dep in t["depends"]:
        outs.update(os.path.relpath(f, os.path.abspath(d))
                    for f in files[dep])
sys.stdout.write("".join(o + "\n" for o in sorted(outs)))
EOF
}

# build_tests DIR [--suite S | --no-suite S]...: build what the tests so
# selected run (test_outputs), not the whole tree: a variant build runs a
# few suites, and needs e.g. no benchmark program.  The whole tree if the
# list cannot be made.
build_tests() {
	local dir=$1 outs=()
	shift
	mapfile -t outs < <(test_outputs "$dir" "$@" || echo all)
	if [ "${#outs[@]}" -eq 0 ] || [ "${outs[*]}" = all ]; then
		meson compile -C "$dir"
	else
		ninja -C "$dir" -- "${outs[@]}"
	fi
}

# run_suites DIR NAME SUITE...: build what the SUITEs that exist run, then
# run them in one go, with the extra `meson test` arguments in
# MESON_TEST_ARGS.  A failed build counts as one failed test.
MESON_TEST_ARGS=()
run_suites() {
	local dir=$1 name=$2 s args=("${MESON_TEST_ARGS[@]}")
	shift 2
	while read -r s; do
		[ -n "$s" ] && args+=(--suite "$s")
	done < <(existing_suites "$dir" "$@")
	[ "${#args[@]}" -gt "${#MESON_TEST_ARGS[@]}" ] || return 0
	if ! build_tests "$dir" "${args[@]}"; then
		log "$dir: build failed"
		EXTRA_FAILED=$((EXTRA_FAILED + 1))
		STATUS=1
		return
	fi
	run_meson_test "$dir" "$name" --no-rebuild "${args[@]}"
}

# run_extra_suite DIR SUITE: run SUITE unless the default setup already
# ran every test in it.
run_extra_suite() {
	local dir=$1 suite=$2 in_suite
	in_suite=$(list_tests "$dir" "$suite")
	[ -n "$in_suite" ] || return 0
	if [ -z "$(comm -23 <(printf '%s\n' "$in_suite" | sort) \
	    <(list_tests "$dir" | sort))" ]; then
		return 0
	fi
	run_meson_test "$dir" "$suite" --suite "$suite"
}

test_default_build() {
	local suites s
	if [ -n "${TEST_SUITES:-}" ]; then
		read -r -a suites <<<"${TEST_SUITES//,/ }"
		if [ "$SLOW" = 1 ]; then
			suites+=(slow soak)
		fi
		run_suites "$BUILD_DIR" selected "${suites[@]}"
		return
	fi
	# The hostile clients (suite abuse) run under ASan+UBSan below, where
	# a memory error shows; running them here too would cost two minutes
	# of CI for little more.
	run_meson_test "$BUILD_DIR" default --no-suite abuse
	# The lint suite (clang-format, test registration) is part of every
	# full run even if the default test setup excludes it.
	suites=(lint)
	if [ "$SLOW" = 1 ]; then
		suites+=(slow soak)
	fi
	for s in "${suites[@]}"; do
		run_extra_suite "$BUILD_DIR" "$s"
	done
}

# variant_setup DIR [MESON SETUP ARGS...]: configure DIR (run_suites
# builds what its tests need); a failure counts as one failed test.
variant_setup() {
	local dir=$1
	shift
	meson_setup "$dir" "$@" && return 0
	log "$dir: meson setup failed"
	EXTRA_FAILED=$((EXTRA_FAILED + 1))
	STATUS=1
	return 1
}

# sanitizer_setup DIR SANITIZERS: variant_setup with -Db_sanitize.
sanitizer_setup() {
	variant_setup "$1" -Db_sanitize="$2" -Db_lundef=false
}

test_asan_build() {
	local suites
	if [ -n "${ASAN_SUITES:-}" ]; then
		read -r -a suites <<<"${ASAN_SUITES//,/ }"
	elif [ -n "${TEST_SUITES:-}" ]; then
		read -r -a suites <<<"${TEST_SUITES//,/ }"
	else
		suites=(unit conformance fuzz faults interop)
	fi
	log "sanitizer build in $ASAN_DIR"
	sanitizer_setup "$ASAN_DIR" address,undefined || return 0
	# Sanitized code runs a few times slower.  The bulk interop tests
	# (every suite, 64 concurrent clients) run in the normal build only:
	# under ASan they would double the run for paths conformance covers.
	# The conformance groups run here with the default backend (auto)
	# only; the other backends' glue is checked under ASan by the unit
	# tests ktls_backend and ktls_wipe-NAME, and EVP's by every CBC
	# suite, which auto leaves to it (its two-pass CBC path, which the
	# conformance-evp-noaesni reruns force, by the SHA2-384 suites and
	# the unit test ktls_cbc-noaesni).
	# sim_server's NIC mode (suite nic: real clients over a lossy link
	# in real time) runs in the normal build only; the kernel's NIC path
	# is checked here by the faults suite.
	MESON_TEST_ARGS=(--timeout-multiplier 3 --no-suite interop-heavy
	    --no-suite conformance-evp --no-suite conformance-evp-noaesni
	    --no-suite nic)
	run_suites "$ASAN_DIR" asan "${suites[@]}"
	MESON_TEST_ARGS=()
}

# The real-time runner's threads under ThreadSanitizer: every test in the
# 'tsan' suite (those that run pthread workers).
TSAN_DIR=build-tsan
test_tsan_build() {
	local suites
	read -r -a suites <<<"${TSAN_SUITES:-tsan}"
	log "ThreadSanitizer build in $TSAN_DIR"
	sanitizer_setup "$TSAN_DIR" thread || return 0
	MESON_TEST_ARGS=(--timeout-multiplier 5)
	run_suites "$TSAN_DIR" tsan "${suites[@]}"
	MESON_TEST_ARGS=()
}

# The kernel as built for production: no KASSERT(), no invariant
# checkers.  A test must pass here without the panics INVARIANTS gives.
NOINV_DIR=build-noinv
test_noinv_build() {
	local suites
	read -r -a suites <<<"${NOINV_SUITES:-unit conformance fuzz}"
	log "build without INVARIANTS in $NOINV_DIR"
	variant_setup "$NOINV_DIR" -Dinvariants=false || return 0
	# KASSERT() does not depend on the crypto backend: one is enough.
	# The interop tests (conn_stress in suite fuzz) drive sim_server,
	# whose kernel paths unit and conformance already cover here.
	MESON_TEST_ARGS=(--no-suite conformance-evp
	    --no-suite conformance-evp-noaesni --no-suite interop)
	run_suites "$NOINV_DIR" noinv "${suites[@]}"
	MESON_TEST_ARGS=()
}

main() {
	local counts p f s

	while [ "$#" -gt 0 ]; do
		case $1 in
		--slow)
			SLOW=1
			;;
		--no-setup)
			RUN_SETUP=0
			;;
		--summarize)
			shift
			cd "$ORIG_PWD" || exit 1
			counts=$(summarize "$@") || exit 1
			read -r p f s <<<"$counts"
			final_line "$p" "$f" "$s"
			[ "$f" -eq 0 ]
			exit
			;;
		-h | --help)
			usage
			;;
		*)
			log "unknown argument: $1"
			usage
			;;
		esac
		shift
	done

	if [ "$RUN_SETUP" = 1 ]; then
		if ! bash scripts/setup.sh; then
			log "setup/build failed"
			EXTRA_FAILED=$((EXTRA_FAILED + 1))
			STATUS=1
		fi
	fi

	if [ -f "$BUILD_DIR/build.ninja" ]; then
		test_default_build
	fi
	if [ "${SKIP_ASAN:-0}" != 1 ]; then
		test_asan_build
	fi
	if [ "${SKIP_TSAN:-0}" != 1 ]; then
		test_tsan_build
	fi
	if [ "${SKIP_NOINV:-0}" != 1 ]; then
		test_noinv_build
	fi

	if ! counts=$(summarize "${LOGS[@]}"); then
		log "could not read the test logs: ${LOGS[*]}"
		counts="0 1 0"
	fi
	read -r p f s <<<"$counts"
	f=$((f + EXTRA_FAILED))
	[ "$f" -eq 0 ] || STATUS=1
	final_line "$p" "$f" "$s"
	exit "$STATUS"
}

main "$@"
