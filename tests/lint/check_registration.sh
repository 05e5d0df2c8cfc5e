#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Lint: every *_test.c under tests/ and models/ must be registered with
# meson, or it silently never runs.  A file foo_test.c counts as
# registered when some meson.build names "foo_test", or when a meson.build
# in its directory (or a parent) lists 'foo' as a quoted word, the way a
# per-directory name list builds t + '_test.c' (BIND 9 style).
# Fails naming the files that are not registered.
#
# Usage: check_registration.sh [SRCDIR]
#
set -uo pipefail

srcdir=${1:-${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$srcdir" || exit 1

mapfile -t buildfiles < <(
	ls meson.build 2>/dev/null
	for d in src models sim tests; do
		[ -d "$d" ] && find "$d" -type d -name 'build*' -prune -o \
		    -type f -name meson.build -print
	done
)
if [ "${#buildfiles[@]}" -eq 0 ]; then
	echo "check_registration: no meson.build found under $srcdir" >&2
	exit 1
fi

# registered FILE: 0 if FILE (a path to *_test.c) is named by meson.
registered() {
	local file=$1 base stem dir
	base=$(basename "$file" .c)     # foo_test
	stem=${base%_test}              # foo
	if grep -qw -- "$base" "${buildfiles[@]}"; then
		return 0
	fi
	dir=$(dirname "$file")
	while [ "$dir" != . ] && [ -n "$dir" ]; do
		if [ -f "$dir/meson.build" ] &&
		    grep -qE -- "['\"]${stem}['\"]" "$dir/meson.build"; then
			return 0
		fi
		dir=$(dirname "$dir")
	done
	return 1
}

unregistered=()
checked=0
while IFS= read -r f; do
	checked=$((checked + 1))
	registered "$f" || unregistered+=("$f")
done < <(
	for d in tests models; do
		[ -d "$d" ] && find "$d" -type d -name 'build*' -prune -o \
		    -type f -name '*_test.c' -print
	done | LC_ALL=C sort
)

if [ "${#unregistered[@]}" -gt 0 ]; then
	echo "check_registration: ${#unregistered[@]} of $checked test files" \
	    "are not registered in any meson.build:"
	printf '  %s\n' "${unregistered[@]}"
	exit 1
fi
echo "check_registration: all $checked *_test.c files are registered"
exit 0
