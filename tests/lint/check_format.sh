#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Lint: every C source and header under src/, models/, sim/ and tests/
# (fuzz corpora and test vectors excepted) must already be formatted by
# the top-level .clang-format (FreeBSD style(9)).  Lists the files that are
# not, with the start of the change clang-format wants; exits 1 if any.
# scripts/format.sh reformats them in place.
#
# Usage: check_format.sh [--list] [SRCDIR]
#   --list  only print the files that are checked, one per line
#
# Exit status: 0 clean, 1 unformatted files, 77 (meson: skipped) if
# clang-format is not installed.
#
set -uo pipefail

list_only=0
if [ "${1:-}" = --list ]; then
	list_only=1
	shift
fi
srcdir=${1:-${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$srcdir" || exit 1

# The files to format, relative to the source root, sorted.
format_files() {
	local d dirs=()
	for d in src models sim tests; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ "${#dirs[@]}" -gt 0 ] || return 0
	find "${dirs[@]}" \
	    \( -type d \( -name '*.in' -o -name 'corpus*' -o -name vectors \
	    -o -name 'build*' \) -prune \) -o \
	    -type f \( -name '*.c' -o -name '*.h' \) -print | LC_ALL=C sort
}

if [ "$list_only" = 1 ]; then
	format_files
	exit 0
fi

clang_format=
for c in "${CLANG_FORMAT:-}" clang-format clang-format-14; do
	if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
		clang_format=$c
		break
	fi
done
if [ -z "$clang_format" ]; then
	echo "check_format: clang-format not found; skipping" >&2
	exit 77
fi
if [ ! -f .clang-format ]; then
	echo "check_format: $srcdir/.clang-format is missing" >&2
	exit 1
fi

# One clang-format run over every file is the common, clean case (each
# start of clang-format costs a few hundred milliseconds); only when it
# fails are the files checked one by one to name them.
mapfile -t files < <(format_files)
if [ "${#files[@]}" -gt 0 ] &&
    "$clang_format" --style=file --dry-run -Werror "${files[@]}" \
    >/dev/null 2>&1; then
	echo "check_format: ${#files[@]} files formatted"
	exit 0
fi

bad=()
checked=0
while IFS= read -r f; do
	checked=$((checked + 1))
	if ! "$clang_format" --style=file --dry-run -Werror "$f" \
	    >/dev/null 2>&1; then
		bad+=("$f")
		echo "--- $f: not in style(9); clang-format wants:"
		"$clang_format" --style=file "$f" | diff -u "$f" - | sed -n '3,30p'
	fi
done < <(format_files)

if [ "${#bad[@]}" -gt 0 ]; then
	echo
	echo "check_format: ${#bad[@]} of $checked files need formatting" \
	    "(run scripts/format.sh):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
echo "check_format: $checked files formatted"
exit 0
