/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Checking that key material is wiped before its memory is freed, as
 * FreeBSD's ktls_cleanup() and ktls_ocf_free() do with zfree(9) and
 * explicit_bzero(9).
 *
 * A test binary that links wipecheck_dep (tests/lib/meson.build) has
 * malloc(), calloc(), realloc(), posix_memalign() and free() wrapped (ld
 * --wrap) in every object linked into it statically: the tests, tests/lib,
 * src/ and sim/ sources.  Shared libraries (libcrypto, libc itself) keep the
 * real ones.  While a check is on (wipe_begin() to wipe_end()):
 *
 *   - every block allocated inside a wipe_secret() window must be all
 *     zero when free() gets it (the window brackets the calls that copy
 *     keys in, e.g. setsockopt(TCP_TXTLS_ENABLE): each block they allocate
 *     holds key material or state derived from it);
 *   - no block free() gets may contain any wipe_pattern() byte string
 *     (the keys themselves), wherever it was allocated;
 *   - no block may have been written past its end (16 guard bytes follow
 *     each one the wrappers hand out).
 *
 * Violations are collected, not fatal; wipe_end() reports them.
 */

#ifndef _TESTS_WIPECHECK_H_
#define _TESTS_WIPECHECK_H_

#include <stdbool.h>
#include <stddef.h>

/* Start checking: forget earlier patterns, violations and counts. */
void wipe_begin(void);
/* Blocks allocated while on are secret: they must be zero when freed. */
void wipe_secret(bool on);
/* No freed block may contain p[0..len) (copied; len at most 64). */
void wipe_pattern(const void *p, size_t len, const char *what);
/* Stop checking.  Returns the number of violations. */
size_t wipe_end(void);
/* The first violations of the last check, one per line. */
const char *wipe_report(void);

/* Secret blocks allocated, and freed (each one checked), so far. */
size_t wipe_nsecret(void);
size_t wipe_nsecret_freed(void);
/* p was a secret block that free() got (and checked) in this check. */
bool wipe_freed(const void *p);

#endif /* !_TESTS_WIPECHECK_H_ */
