#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# Reformat, in place, every C file that the lint suite checks (the list
# comes from tests/lint/check_format.sh --list: src/, models/, sim/,
# tests/, minus fuzz corpora and test vectors) with the top-level
# .clang-format (FreeBSD style(9)).  Run it before committing C changes.
#
# Usage: scripts/format.sh [FILE...]   (default: all checked files)
#
set -euo pipefail

cd "$(dirname "$0")/.."

clang_format=
for c in "${CLANG_FORMAT:-}" clang-format clang-format-14; do
	if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
		clang_format=$c
		break
	fi
done
if [ -z "$clang_format" ]; then
	echo "format.sh: clang-format not found (scripts/setup.sh installs it)" >&2
	exit 1
fi

if [ "$#" -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(bash tests/lint/check_format.sh --list .)
fi
if [ "${#files[@]}" -eq 0 ]; then
	echo "format.sh: no files to format"
	exit 0
fi
"$clang_format" --style=file -i -- "${files[@]}"
echo "format.sh: formatted ${#files[@]} files"
