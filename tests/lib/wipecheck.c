/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Checking that key material is wiped before it is freed; see wipecheck.h.
 *
 * The wrappers remember every live block they handed out (address, size,
 * secret or not) in a hash table whose own nodes come from the real
 * malloc(), so that free() knows how many bytes to look at.  A block that
 * the wrappers did not hand out (allocated inside a shared library) is
 * passed through unchecked.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wipecheck.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_posix_memalign(void **pp, size_t align, size_t size);
void __real_free(void *p);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
int __wrap_posix_memalign(void **pp, size_t align, size_t size);
void __wrap_free(void *p);

#define WIPE_BUCKETS 65536
/* Guard bytes after every block, checked when it is freed. */
#define WIPE_GUARD 16
#define WIPE_GUARD_BYTE 0xa5
#define WIPE_MAX_PATTERNS 8
#define WIPE_MAX_FREED 64

struct wipe_block {
	void *p;
	size_t size;
	bool secret;
	struct wipe_block *next;
};

static pthread_mutex_t wipe_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct wipe_block *wipe_table[WIPE_BUCKETS];

static struct {
	bool on;     /* between wipe_begin() and wipe_end() */
	bool secret; /* inside a wipe_secret() window */
	struct {
		uint8_t b[64];
		size_t len;
		const char *what;
	} pat[WIPE_MAX_PATTERNS];
	int npat;
	size_t nsecret, nsecret_freed, nviol;
	const void *freed[WIPE_MAX_FREED];
	char report[1024];
	size_t reportlen;
} wipe;

static size_t
wipe_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return ((size_t)(h % WIPE_BUCKETS));
}

static void wipe_violation(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Called with wipe_mtx held. */
static void
wipe_violation(const char *fmt, ...)
{
	va_list ap;
	int n;

	wipe.nviol++;
	if (wipe.reportlen >= sizeof(wipe.report) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(wipe.report + wipe.reportlen,
	    sizeof(wipe.report) - wipe.reportlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		wipe.reportlen += (size_t)n;
	if (wipe.reportlen >= sizeof(wipe.report))
		wipe.reportlen = sizeof(wipe.report) - 1;
}

static void
wipe_insert(void *p, size_t size)
{
	struct wipe_block *b;
	size_t h;

	if (p == NULL)
		return;
	h = wipe_hash(p);
	pthread_mutex_lock(&wipe_mtx);
	/* Freed behind our back (by a shared library): reuse its node. */
	for (b = wipe_table[h]; b != NULL && b->p != p; b = b->next)
		;
	if (b == NULL) {
		b = __real_malloc(sizeof(*b));
		if (b == NULL)
			abort();
		b->next = wipe_table[h];
		wipe_table[h] = b;
	}
	b->p = p;
	b->size = size;
	memset((uint8_t *)p + size, WIPE_GUARD_BYTE, WIPE_GUARD);
	b->secret = wipe.on && wipe.secret;
	if (b->secret)
		wipe.nsecret++;
	pthread_mutex_unlock(&wipe_mtx);
}

/* Unlink p's block; returns it (caller frees) or NULL if not ours. */
static struct wipe_block *
wipe_remove(void *p)
{
	struct wipe_block **bp, *b;

	for (bp = &wipe_table[wipe_hash(p)]; (b = *bp) != NULL; bp = &b->next) {
		if (b->p == p) {
			*bp = b->next;
			return (b);
		}
	}
	return (NULL);
}

/* The checks free() makes; called with wipe_mtx held. */
static void
wipe_check(const struct wipe_block *b)
{
	const uint8_t *d = b->p;
	size_t i;
	int k;

	for (i = 0; i < WIPE_GUARD; i++) {
		if (d[b->size + i] != WIPE_GUARD_BYTE) {
			wipe_violation("block %p of %zu bytes: written past "
				       "its end (guard byte %zu)\n",
			    b->p, b->size, i);
			break;
		}
	}
	if (b->secret) {
		for (i = 0; i < b->size && d[i] == 0; i++)
			;
		if (i < b->size)
			wipe_violation("secret block %p of %zu bytes freed "
				       "unwiped (byte %zu is %#x)\n",
			    b->p, b->size, i, d[i]);
		wipe.nsecret_freed++;
		if (wipe.nsecret_freed <= WIPE_MAX_FREED)
			wipe.freed[wipe.nsecret_freed - 1] = b->p;
	}
	for (k = 0; k < wipe.npat; k++) {
		size_t len = wipe.pat[k].len;

		for (i = 0; i + len <= b->size; i++) {
			if (memcmp(d + i, wipe.pat[k].b, len) == 0) {
				wipe_violation("block %p of %zu bytes freed "
					       "with the %s at offset %zu\n",
				    b->p, b->size, wipe.pat[k].what, i);
				break;
			}
		}
	}
}

void *
__wrap_malloc(size_t size)
{
	void *p;

	if (size > SIZE_MAX - WIPE_GUARD)
		return (NULL);
	p = __real_malloc(size + WIPE_GUARD);
	wipe_insert(p, size);
	return (p);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > (SIZE_MAX - WIPE_GUARD) / size)
		return (NULL);
	p = __real_calloc(1, n * size + WIPE_GUARD);
	wipe_insert(p, n * size);
	return (p);
}

int
__wrap_posix_memalign(void **pp, size_t align, size_t size)
{
	int error;

	if (size > SIZE_MAX - WIPE_GUARD)
		return (ENOMEM);
	error = __real_posix_memalign(pp, align, size + WIPE_GUARD);
	if (error == 0)
		wipe_insert(*pp, size);
	return (error);
}

/* p is about to be freed: check it if it is ours, and forget it. */
static void
wipe_release(void *p)
{
	struct wipe_block *b;

	pthread_mutex_lock(&wipe_mtx);
	b = wipe_remove(p);
	if (b != NULL && wipe.on)
		wipe_check(b);
	pthread_mutex_unlock(&wipe_mtx);
	__real_free(b);
}

/*
 * realloc() may free the old block itself: it is checked like free(), but
 * only when it was ours.  Nothing secret is ever realloc()ed by src/.  A
 * block that was not ours (from a shared library) is still given a guard
 * the caller never sees; realloc() keeps its contents either way.
 */
void *
__wrap_realloc(void *p, size_t size)
{
	void *np;

	if (p == NULL)
		return (__wrap_malloc(size));
	if (size > SIZE_MAX - WIPE_GUARD)
		return (NULL);
	wipe_release(p);
	np = __real_realloc(p, size + WIPE_GUARD);
	wipe_insert(np, size);
	return (np);
}

void
__wrap_free(void *p)
{

	if (p == NULL)
		return;
	wipe_release(p);
	__real_free(p);
}

void
wipe_begin(void)
{

	pthread_mutex_lock(&wipe_mtx);
	memset(&wipe, 0, sizeof(wipe));
	wipe.on = true;
	pthread_mutex_unlock(&wipe_mtx);
}

void
wipe_secret(bool on)
{

	pthread_mutex_lock(&wipe_mtx);
	wipe.secret = on;
	pthread_mutex_unlock(&wipe_mtx);
}

void
wipe_pattern(const void *p, size_t len, const char *what)
{

	pthread_mutex_lock(&wipe_mtx);
	if (wipe.npat < WIPE_MAX_PATTERNS && len > 0 &&
	    len <= sizeof(wipe.pat[0].b)) {
		memcpy(wipe.pat[wipe.npat].b, p, len);
		wipe.pat[wipe.npat].len = len;
		wipe.pat[wipe.npat].what = what;
		wipe.npat++;
	}
	pthread_mutex_unlock(&wipe_mtx);
}

size_t
wipe_end(void)
{
	size_t n;

	pthread_mutex_lock(&wipe_mtx);
	wipe.on = false;
	wipe.secret = false;
	n = wipe.nviol;
	pthread_mutex_unlock(&wipe_mtx);
	return (n);
}

const char *
wipe_report(void)
{

	return (wipe.report);
}

size_t
wipe_nsecret(void)
{

	return (wipe.nsecret);
}

size_t
wipe_nsecret_freed(void)
{

	return (wipe.nsecret_freed);
}

bool
wipe_freed(const void *p)
{
	size_t i;

	for (i = 0; i < wipe.nsecret_freed && i < WIPE_MAX_FREED; i++)
		if (wipe.freed[i] == p)
			return (true);
	return (false);
}
