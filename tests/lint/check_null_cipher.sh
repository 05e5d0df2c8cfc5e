#!/usr/bin/env bash
#
# SPDX-License-Identifier: BSD-2-Clause
#
# The null cipher (src/opencrypto/ktls_null.c: records NOT encrypted) must
# never be in a build by default: meson_options.txt declares null_cipher
# off, and src/meson.build compiles the backend only under that option.
# Usage: check_null_cipher.sh SRCDIR CONFIGURED (true/false: this build's
# -Dnull_cipher).  A build configured with it is skipped (77), loudly.
#
src=$1
configured=$2
fail=0

opt=$(tr -d '\n' <"$src/meson_options.txt" |
    grep -o "option('null_cipher'[^)]*)")
case $opt in
*"type: 'boolean', value: false"*) ;;
*)
	echo "meson_options.txt: null_cipher must default to false: $opt"
	fail=1
	;;
esac
# ktls_null.c and -DKTLS_NULL_CIPHER only inside the option's if block.
awk '/^if get_option\(.null_cipher.\)/ { inside = 1; next }
    inside && /^endif/ { inside = 0; next }
    !inside && !/^ *#/ && /ktls_null\.c|KTLS_NULL_CIPHER/ { print FILENAME ":" NR ": " $0; bad = 1 }
    END { exit bad }' "$src/src/meson.build" || fail=1

if [ $fail -ne 0 ]; then
	echo "1 failed: the null cipher could reach a normal build"
	exit 1
fi
if [ "$configured" = true ]; then
	echo "SKIP: THIS BUILD HAS THE NULL CIPHER (-Dnull_cipher=true):" \
	    "records are not encrypted; fuzzing and benchmarks only"
	exit 77
fi
echo "null cipher: off by default, compiled only under -Dnull_cipher"
