/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for src/kern/uipc_mbuf.c: vm_page reference counts, M_EXTPG
 * allocation and geometry (m_uiotombuf), the header | pages | trailer data
 * walkers (m_copydata, m_to_iovec) against a flat reference buffer, front
 * trims through m_epg_off, mb_free_notready() and the m_chain_check()
 * invariant checker (FreeBSD's sys/sys/mbuf.h M_EXTPG fields,
 * sys/kern/uipc_mbuf.c m_uiotombuf_nomap(), sys/kern/kern_mbuf.c
 * mb_free_notready()).
 */

#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hexutil.h"
#include "net/if_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"

#define assert_chain_valid(m) assert_int_equal(m_chain_check(m), 0)

/* ext_free that counts calls and then releases the pages. */
static int ext_free_calls;

static void
counting_ext_free(struct mbuf *m)
{

	ext_free_calls++;
	mb_free_mext_pgs(m);
}

/*
 * An M_EXTPG mbuf with npgs pages, data starting at first_off in the first
 * page and last_len bytes used in the last one (for one page: last_len
 * bytes from first_off), hdrlen/trllen bytes of header and trailer.  Every
 * byte gets a distinct-ish pattern from rng.  If pages is not NULL the
 * caller also gets a reference to each page.
 */
static struct mbuf *
make_epg(struct test_rng *rng, int hdrlen, int npgs, int first_off,
    int last_len, int trllen, struct vm_page **pages)
{
	struct mbuf *m;

	m = mb_alloc_ext_pgs(M_WAITOK, counting_ext_free, M_RDONLY);
	assert_non_null(m);
	assert_int_equal(m->m_flags, M_EXT | M_EXTPG | M_RDONLY);
	m->m_epg_hdrlen = hdrlen;
	m->m_epg_trllen = trllen;
	test_rng_bytes(rng, m->m_epg_hdr, sizeof(m->m_epg_hdr));
	test_rng_bytes(rng, m->m_epg_trail, sizeof(m->m_epg_trail));
	m->m_epg_1st_off = first_off;
	m->m_epg_last_len = last_len;
	for (int i = 0; i < npgs; i++) {
		m->m_epg_pa[i] = vm_page_alloc_sim();
		test_rng_bytes(rng, vm_page_data(m->m_epg_pa[i]), PAGE_SIZE);
		if (pages != NULL) {
			vm_page_hold(m->m_epg_pa[i]);
			pages[i] = m->m_epg_pa[i];
		}
	}
	m->m_epg_npgs = npgs;
	m->m_len = hdrlen + m_epg_datalen(m) + trllen;
	m->m_ext.ext_size = npgs * PAGE_SIZE;
	return (m);
}

/* Flatten one M_EXTPG mbuf by hand (independent of m_epg_runs()). */
static size_t
flatten_epg(const struct mbuf *m, uint8_t *out)
{
	size_t n = 0;
	int off;

	memcpy(out + n, m->m_epg_hdr, m->m_epg_hdrlen);
	n += m->m_epg_hdrlen;
	off = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs; i++) {
		int len = (i == m->m_epg_npgs - 1) ? m->m_epg_last_len :
						     PAGE_SIZE - off;

		memcpy(out + n, vm_page_data(m->m_epg_pa[i]) + off, len);
		n += len;
		off = 0;
	}
	memcpy(out + n, m->m_epg_trail, m->m_epg_trllen);
	n += m->m_epg_trllen;
	return (n);
}

static struct mbuf *
make_plain(struct test_rng *rng, int len)
{
	struct mbuf *m;

	m = m_get_ext(len, M_WAITOK);
	assert_non_null(m);
	test_rng_bytes(rng, m->m_data, len);
	m->m_len = len;
	return (m);
}

/* ---- vm_page reference counts ------------------------------------- */

static void
test_page_refcounts(void **state)
{
	struct vm_page *pg, *pages[2];
	struct test_rng rng;
	struct mbuf *m;

	(void)state;
	pg = vm_page_alloc_sim();
	assert_non_null(pg);
	assert_non_null(vm_page_data(pg));
	assert_int_equal(pg->refcount, 1);
	assert_int_equal((uintptr_t)vm_page_data(pg) % PAGE_SIZE, 0);
	vm_page_hold(pg);
	vm_page_hold(pg);
	assert_int_equal(pg->refcount, 3);
	memset(vm_page_data(pg), 0xa5, PAGE_SIZE);
	vm_page_release(pg);
	assert_int_equal(pg->refcount, 2);
	vm_page_release(pg);
	assert_int_equal(pg->refcount, 1);
	assert_int_equal(vm_page_data(pg)[PAGE_SIZE - 1], 0xa5);
	vm_page_release(pg); /* frees it; ASan would flag a later use */

	/* A shared (page cache) page survives the mbuf that used it. */
	test_rng_seed(&rng, 1);
	m = make_epg(&rng, 0, 2, 0, 100, 0, pages);
	assert_int_equal(pages[0]->refcount, 2);
	assert_int_equal(pages[1]->refcount, 2);
	ext_free_calls = 0;
	assert_null(m_free(m));
	assert_int_equal(ext_free_calls, 1);
	assert_int_equal(pages[0]->refcount, 1);
	assert_int_equal(pages[1]->refcount, 1);
	vm_page_release(pages[0]);
	vm_page_release(pages[1]);
}

/*
 * refcount_release_if_not_last(), which mb_free_extpg() uses to decide
 * whether the session's worker must drop its last reference: it counts
 * down to 1 and then refuses, leaving the last reference alone.
 */
static void
test_refcount_release_if_not_last(void **state)
{
	volatile u_int count;

	(void)state;
	refcount_init(&count, 3);
	assert_true(refcount_release_if_not_last(&count));
	assert_int_equal(count, 2);
	assert_true(refcount_release_if_not_last(&count));
	assert_int_equal(count, 1);
	assert_false(refcount_release_if_not_last(&count));
	assert_int_equal(count, 1);
	refcount_acquire(&count);
	assert_true(refcount_release_if_not_last(&count));
	assert_true(refcount_release(&count));
	assert_int_equal(count, 0);
}

/* ---- m_uiotombuf(M_EXTPG) ------------------------------------------ */

static struct mbuf *
uio_to_extpg(const uint8_t *buf, size_t len, int space, int maxseg, int flags,
    ssize_t *resid_left)
{
	struct iovec iov;
	struct uio uio;
	struct mbuf *m;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	uio.uio_iov = &iov;
	uio.uio_iovcnt = 1;
	uio.uio_offset = 0;
	uio.uio_resid = len;
	uio.uio_rw = UIO_WRITE;
	m = m_uiotombuf(&uio, M_WAITOK, space, maxseg, M_EXTPG | flags);
	if (resid_left != NULL)
		*resid_left = uio.uio_resid;
	return (m);
}

static void
check_extpg_anon(const struct mbuf *m, int len)
{

	assert_true(m->m_flags & M_EXTPG);
	assert_true(m->m_flags & M_EXT);
	/* Anonymous pages are writable until encrypted (M_RDONLY then). */
	assert_false(m->m_flags & M_RDONLY);
	assert_false(m->m_flags & M_NOTAVAIL);
	assert_int_equal(m->m_epg_flags, EPG_FLAG_ANON);
	assert_int_equal(m->m_len, len);
	assert_int_equal(m->m_epg_npgs, howmany(len, PAGE_SIZE));
	assert_int_equal(m->m_epg_1st_off, 0);
	assert_int_equal(m->m_epg_hdrlen, 0);
	assert_int_equal(m->m_epg_trllen, 0);
	assert_int_equal(m->m_epg_nrdy, 0);
	assert_int_equal(m->m_epg_off, 0);
	assert_null(m->m_epg_tls);
	if (len > 0)
		assert_int_equal(m->m_epg_last_len,
		    len - (m->m_epg_npgs - 1) * PAGE_SIZE);
	for (int i = 0; i < m->m_epg_npgs; i++) {
		assert_non_null(m->m_epg_pa[i]);
		assert_int_equal(m->m_epg_pa[i]->refcount, 1);
	}
}

static void
test_uiotombuf_splits(void **state)
{
	static const struct {
		int len, maxseg;
		int nseg;
		int seg[4];
	} cases[] = {
		{ 0, 16384, 1, { 0 } }, { 1, 16384, 1, { 1 } },
		{ 4095, 16384, 1, { 4095 } }, { 4096, 16384, 1, { 4096 } },
		{ 4097, 16384, 1, { 4097 } }, { 16384, 16384, 1, { 16384 } },
		{ 16385, 16384, 2, { 16384, 1 } },
		{ 40000, 16384, 3, { 16384, 16384, 7232 } },
		{ 10000, 4096, 3, { 4096, 4096, 1808 } },
		{ 20480, 20480, 1, { 20480 } }, /* 5 pages: MAX_PGS */
	};
	struct test_rng rng;
	uint8_t *src, *dst;
	struct mbuf *m, *n, *last;
	ssize_t left;

	(void)state;
	test_rng_seed(&rng, 2);
	src = malloc(65536);
	dst = malloc(65536);
	assert_non_null(src);
	assert_non_null(dst);
	test_rng_bytes(&rng, src, 65536);
	for (size_t c = 0; c < nitems(cases); c++) {
		for (int eor = 0; eor < 2; eor++) {
			int i = 0;

			m = uio_to_extpg(src, cases[c].len, 0, cases[c].maxseg,
			    eor ? M_EOR : 0, &left);
			assert_non_null(m);
			assert_int_equal(left, 0);
			assert_chain_valid(m);
			for (n = m; n != NULL; n = n->m_next, i++) {
				assert_true(i < cases[c].nseg);
				check_extpg_anon(n, cases[c].seg[i]);
				assert_int_equal(n->m_flags & M_EOR,
				    (eor && n->m_next == NULL) ? M_EOR : 0);
			}
			assert_int_equal(i, cases[c].nseg);
			assert_int_equal(m_length(m, &last), cases[c].len);
			for (n = m; n->m_next != NULL; n = n->m_next)
				;
			assert_ptr_equal(last, n);
			memset(dst, 0, cases[c].len + 1);
			m_copydata(m, 0, cases[c].len, dst);
			assert_memory_equal(dst, src, cases[c].len);
			m_freem(m);
		}
	}

	/* 16384 bytes: exactly four full pages in one mbuf. */
	m = uio_to_extpg(src, 16384, 0, 16384, 0, NULL);
	assert_null(m->m_next);
	assert_int_equal(m->m_epg_npgs, 4);
	assert_int_equal(m->m_epg_last_len, PAGE_SIZE);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(vm_page_data(m->m_epg_pa[i]),
		    src + i * PAGE_SIZE, PAGE_SIZE);
	m_freem(m);

	/* The space limit ('len') caps what is taken; the rest stays. */
	m = uio_to_extpg(src, 40000, 20000, 16384, 0, &left);
	assert_int_equal(left, 20000);
	assert_int_equal(m->m_len, 16384);
	assert_non_null(m->m_next);
	assert_int_equal(m->m_next->m_len, 3616);
	assert_null(m->m_next->m_next);
	assert_chain_valid(m);
	m_freem(m);
	free(src);
	free(dst);
}

/* ---- m_copydata / m_to_iovec against a flat buffer ------------------ */

struct layout {
	struct mbuf *m;
	uint8_t *ref;
	size_t len;
	int bounds[256];
	int nbounds;
};

static void
add_bound(struct layout *L, int b)
{

	for (int d = -1; d <= 1; d++) {
		int v = b + d;

		if (v < 0 || (size_t)v > L->len)
			continue;
		for (int i = 0; i < L->nbounds; i++)
			if (L->bounds[i] == v)
				goto next;
		assert_true(L->nbounds < (int)nitems(L->bounds));
		L->bounds[L->nbounds++] = v;
	next:;
	}
}

/* Boundaries of one mbuf's pieces, relative to its start (m_epg_off 0). */
static void
add_epg_bounds(struct layout *L, const struct mbuf *m, int base)
{
	int pos = base, off = m->m_epg_1st_off;

	add_bound(L, pos);
	pos += m->m_epg_hdrlen;
	add_bound(L, pos);
	for (int i = 0; i < m->m_epg_npgs; i++) {
		pos += (i == m->m_epg_npgs - 1) ? m->m_epg_last_len :
						  PAGE_SIZE - off;
		off = 0;
		add_bound(L, pos);
	}
	pos += m->m_epg_trllen;
	add_bound(L, pos);
}

/*
 * plain(7) | record(hdr 13, 3 pages from offset 100, last 1000, trl 16) |
 * record(hdr 5, one page 4000..4096, trl 36) | empty record (hdr 5,
 * trl 32) | plain(3) | record(hdr 21, 5 pages, last 1, trl 64)
 */
static void
layout_build(struct layout *L, uint64_t seed)
{
	struct test_rng rng;
	struct mbuf *ms[6], *m;
	size_t pos;

	memset(L, 0, sizeof(*L));
	test_rng_seed(&rng, seed);
	ms[0] = make_plain(&rng, 7);
	ms[1] = make_epg(&rng, 13, 3, 100, 1000, 16, NULL);
	ms[2] = make_epg(&rng, 5, 1, 4000, 96, 36, NULL);
	ms[3] = make_epg(&rng, 5, 0, 0, 0, 32, NULL);
	ms[4] = make_plain(&rng, 3);
	ms[5] = make_epg(&rng, 21, 5, 0, 1, 64, NULL);
	for (int i = 0; i < 5; i++)
		ms[i]->m_next = ms[i + 1];
	L->m = ms[0];
	L->len = m_length(L->m, NULL);
	assert_int_equal(L->len,
	    7 + (13 + 3996 + 4096 + 1000 + 16) + (5 + 96 + 36) + 37 + 3 +
		(21 + 4 * 4096 + 1 + 64));
	L->ref = malloc(L->len);
	assert_non_null(L->ref);
	pos = 0;
	for (m = L->m; m != NULL; m = m->m_next) {
		if (m->m_flags & M_EXTPG) {
			add_epg_bounds(L, m, pos);
			assert_int_equal(flatten_epg(m, L->ref + pos),
			    m->m_len);
		} else {
			add_bound(L, pos);
			memcpy(L->ref + pos, m->m_data, m->m_len);
		}
		pos += m->m_len;
	}
	add_bound(L, pos);
	assert_int_equal(pos, L->len);
	assert_chain_valid(L->m);
}

static void
layout_free(struct layout *L)
{

	m_freem(L->m);
	free(L->ref);
}

static void
test_copydata_boundaries(void **state)
{
	struct layout L;
	struct test_rng rng;
	uint8_t *buf;
	int checks = 0;

	(void)state;
	layout_build(&L, 3);
	buf = malloc(L.len + 2);
	assert_non_null(buf);
	for (int i = 0; i < L.nbounds; i++) {
		for (int j = 0; j < L.nbounds; j++) {
			int off = L.bounds[i], end = L.bounds[j];

			if (end < off)
				continue;
			memset(buf, 0xee, L.len + 2);
			m_copydata(L.m, off, end - off, buf);
			assert_memory_equal(buf, L.ref + off, end - off);
			/* Nothing written past len. */
			assert_int_equal(buf[end - off], 0xee);
			checks++;
		}
	}
	assert_true(checks > 500);
	/* Plus random (off, len) pairs. */
	test_rng_seed(&rng, 33);
	for (int k = 0; k < 2000; k++) {
		int off = test_rng_u64(&rng) % (L.len + 1);
		int len = test_rng_u64(&rng) % (L.len - off + 1);

		m_copydata(L.m, off, len, buf);
		assert_memory_equal(buf, L.ref + off, len);
	}
	free(buf);
	layout_free(&L);
}

/* Number of non-empty pieces of [off, off+len) in an M_EXTPG mbuf. */
static int
expected_iovs(const struct mbuf *m, int off, int len)
{
	int starts[MBUF_PEXT_MAX_PGS + 3], n = 0, pos = 0, cnt = 0, poff;

	off += m->m_epg_off;
	starts[n++] = 0;
	pos = m->m_epg_hdrlen;
	starts[n++] = pos;
	poff = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs; i++) {
		pos += (i == m->m_epg_npgs - 1) ? m->m_epg_last_len :
						  PAGE_SIZE - poff;
		poff = 0;
		starts[n++] = pos;
	}
	pos += m->m_epg_trllen;
	/* Pieces: [starts[k], starts[k+1]) and the trailer [.., pos). */
	for (int k = 0; k < n; k++) {
		int a = starts[k], b = (k + 1 < n) ? starts[k + 1] : pos;

		if (len > 0 && b > a && off < b && off + len > a)
			cnt++;
	}
	return (cnt);
}

static void
test_to_iovec_boundaries(void **state)
{
	struct iovec iov[MBUF_PEXT_MAX_PGS + 2];
	struct layout L;
	const struct mbuf *m;
	uint8_t *buf;
	size_t base = 0;

	(void)state;
	layout_build(&L, 4);
	buf = malloc(L.len);
	assert_non_null(buf);
	for (m = L.m; m != NULL; base += m->m_len, m = m->m_next) {
		for (int i = 0; i < L.nbounds; i++) {
			for (int j = 0; j < L.nbounds; j++) {
				int off = L.bounds[i] - (int)base;
				int end = L.bounds[j] - (int)base;
				size_t got = 0;
				int n;

				if (off < 0 || end < off || end > m->m_len)
					continue;
				n = m_to_iovec(m, off, end - off, iov,
				    nitems(iov));
				for (int k = 0; k < n; k++) {
					assert_true(iov[k].iov_len > 0);
					memcpy(buf + got, iov[k].iov_base,
					    iov[k].iov_len);
					got += iov[k].iov_len;
				}
				assert_int_equal(got, end - off);
				assert_memory_equal(buf, L.ref + base + off,
				    got);
				if (m->m_flags & M_EXTPG)
					assert_int_equal(n,
					    expected_iovs(m, off, end - off));
				else
					assert_int_equal(n, end > off ? 1 : 0);
			}
		}
	}
	/* A too-small iovec array truncates instead of overrunning. */
	m = L.m->m_next;
	memset(iov, 0, sizeof(iov));
	assert_int_equal(m_to_iovec(m, 0, m->m_len, iov, 2), 2);
	assert_null(iov[2].iov_base);
	free(buf);
	layout_free(&L);
}

/* Trims from the front through m_epg_off, as sbdrop_locked() does. */
static void
test_epg_off_trims(void **state)
{
	struct test_rng rng;
	struct mbuf *m;
	uint8_t ref[3 * PAGE_SIZE + 128], buf[sizeof(ref)];
	struct iovec iov[MBUF_PEXT_MAX_PGS + 2];
	int full, cuts[32], ncuts = 0;

	(void)state;
	test_rng_seed(&rng, 5);
	m = make_epg(&rng, 13, 3, 300, 700, 16, NULL);
	full = flatten_epg(m, ref);
	assert_int_equal(full, m->m_len);
	/* Every piece boundary and its neighbours, plus the ends. */
	{
		int pos[] = { 0, 13, 13 + 3796, 13 + 3796 + 4096,
			13 + 3796 + 4096 + 700, full };

		for (size_t i = 0; i < nitems(pos); i++)
			for (int d = -1; d <= 1; d++)
				if (pos[i] + d >= 0 && pos[i] + d <= full)
					cuts[ncuts++] = pos[i] + d;
	}
	for (int c = 0; c < ncuts; c++) {
		int k = cuts[c], got = 0, n;

		m->m_epg_off = k;
		m->m_len = full - k;
		assert_chain_valid(m);
		memset(buf, 0, sizeof(buf));
		m_copydata(m, 0, m->m_len, buf);
		assert_memory_equal(buf, ref + k, full - k);
		n = m_to_iovec(m, 0, m->m_len, iov, nitems(iov));
		for (int i = 0; i < n; i++) {
			memcpy(buf + got, iov[i].iov_base, iov[i].iov_len);
			got += iov[i].iov_len;
		}
		assert_int_equal(got, full - k);
		assert_memory_equal(buf, ref + k, got);
		/* A tail of the trimmed mbuf. */
		if (m->m_len > 2) {
			m_copydata(m, 1, m->m_len - 2, buf);
			assert_memory_equal(buf, ref + k + 1, m->m_len - 2);
		}
	}
	m->m_epg_off = 10;
	m->m_len = full - 10;
	assert_chain_valid(m);
	m_freem(m);
}

/* ---- mb_free_notready ---------------------------------------------- */

static void
test_free_notready_partial(void **state)
{
	struct vm_page *pa[3], *pb[2];
	struct test_rng rng;
	struct mbuf *a, *b, *c, *d, *e;

	(void)state;
	test_rng_seed(&rng, 6);
	a = make_epg(&rng, 5, 3, 0, 10, 16, pa);
	b = make_epg(&rng, 5, 2, 0, 10, 16, pb);
	c = make_epg(&rng, 5, 0, 0, 0, 32, NULL); /* empty record: 1 unit */
	d = make_plain(&rng, 4);		  /* plain: 1 unit */
	e = make_plain(&rng, 4);		  /* never reached */
	a->m_epg_nrdy = 3;
	b->m_epg_nrdy = 2;
	c->m_epg_nrdy = 1;
	a->m_flags |= M_NOTREADY;
	b->m_flags |= M_NOTREADY;
	c->m_flags |= M_NOTREADY;
	d->m_flags |= M_NOTREADY;
	a->m_next = b;
	b->m_next = c;
	c->m_next = d;
	d->m_next = e;
	assert_chain_valid(a);

	ext_free_calls = 0;
	/* Two of a's three pages: a stays, nothing freed. */
	mb_free_notready(a, 2);
	assert_int_equal(ext_free_calls, 0);
	assert_int_equal(a->m_epg_nrdy, 1);
	assert_int_equal(b->m_epg_nrdy, 2);
	assert_int_equal(pa[0]->refcount, 2);
	assert_chain_valid(a);

	/* a's last page and one of b's: a freed, b partly consumed. */
	mb_free_notready(a, 2);
	assert_int_equal(ext_free_calls, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pa[i]->refcount, 1);
	assert_int_equal(b->m_epg_nrdy, 1);
	assert_int_equal(pb[0]->refcount, 2);
	assert_chain_valid(b);

	/* b's last page, c (1 unit), d (1 unit); e untouched. */
	mb_free_notready(b, 3);
	assert_int_equal(ext_free_calls, 3); /* b and c */
	for (int i = 0; i < 2; i++)
		assert_int_equal(pb[i]->refcount, 1);
	assert_int_equal(e->m_len, 4);
	assert_chain_valid(e);
	m_freem(e);
	for (int i = 0; i < 3; i++)
		vm_page_release(pa[i]);
	for (int i = 0; i < 2; i++)
		vm_page_release(pb[i]);

	/* count 0 and NULL are no-ops. */
	mb_free_notready(NULL, 5);
	a = make_epg(&rng, 0, 1, 0, 1, 0, NULL);
	a->m_epg_nrdy = 1;
	a->m_flags |= M_NOTREADY;
	mb_free_notready(a, 0);
	assert_int_equal(a->m_epg_nrdy, 1);
	mb_free_notready(a, 1);
}

/* ---- shared storage: mb_dupcl(), m_copym() ----------------------- */

/*
 * A copy of part of an M_EXTPG mbuf shares its pages through one count in
 * the original, whichever of the two is freed first; the pages' own
 * references do not change and ext_free runs once, with the last one.
 */
static void
dupcl_epg_order(bool orig_first)
{
	struct vm_page *pg[3];
	struct test_rng rng;
	struct mbuf *m, *n;
	uint8_t ref[3 * PAGE_SIZE + 128], buf[sizeof(ref)];
	int full;

	test_rng_seed(&rng, orig_first ? 21 : 22);
	m = make_epg(&rng, 13, 3, 100, 500, 16, pg);
	full = flatten_epg(m, ref);
	m->m_epg_off = 3; /* trimmed by an earlier sbdrop() */
	m->m_len = full - 3;
	ext_free_calls = 0;
	n = m_copym(m, 7, 5000, M_WAITOK);
	assert_non_null(n);
	assert_null(n->m_next);
	assert_int_equal(n->m_len, 5000);
	assert_int_equal(n->m_epg_off, 10);
	assert_int_equal(n->m_flags & (M_EXT | M_EXTPG | M_RDONLY),
	    M_EXT | M_EXTPG | M_RDONLY);
	assert_int_equal(m->m_ext.ext_count, 2);
	assert_ptr_equal(n->m_ext.ext_cnt, &m->m_ext.ext_count);
	assert_int_equal(n->m_ext.ext_flags & EXT_FLAG_EMBREF, 0);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(n->m_epg_pa[i], pg[i]);
		assert_int_equal(pg[i]->refcount, 2);
	}
	/* A copy may end before the storage does; the original may not. */
	assert_chain_valid(n);
	m_copydata(n, 0, 5000, buf);
	assert_memory_equal(buf, ref + 10, 5000);

	if (orig_first) {
		m_freem(m);
		assert_int_equal(ext_free_calls, 0);
		m_copydata(n, 0, 5000, buf);
		assert_memory_equal(buf, ref + 10, 5000);
		m_freem(n);
	} else {
		m_freem(n);
		assert_int_equal(ext_free_calls, 0);
		assert_int_equal(m->m_ext.ext_count, 1);
		m_copydata(m, 0, m->m_len, buf);
		assert_memory_equal(buf, ref + 3, full - 3);
		m_freem(m);
	}
	assert_int_equal(ext_free_calls, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pg[i]->refcount, 1);
		vm_page_release(pg[i]);
	}
}

static void
test_dupcl_epg(void **state)
{

	(void)state;
	dupcl_epg_order(true);
	dupcl_epg_order(false);
}

/*
 * A chain of a plain mbuf and an M_EXTPG one: the copy points into the
 * same buffer; a copy of the copy counts on the originals; the buffers
 * live until the last copy goes (ASan checks the reads and the frees).
 */
static void
test_copym_chain(void **state)
{
	struct test_rng rng;
	struct mbuf *a, *b, *c, *d;
	uint8_t ref[100 + PAGE_SIZE + 64], buf[sizeof(ref)];
	int blen;

	(void)state;
	test_rng_seed(&rng, 23);
	a = make_plain(&rng, 100);
	b = make_epg(&rng, 5, 1, 0, 1000, 16, NULL);
	a->m_next = b;
	memcpy(ref, a->m_data, 100);
	blen = flatten_epg(b, ref + 100);
	assert_int_equal(blen, 1021);

	c = m_copym(a, 50, 250, M_WAITOK);
	assert_non_null(c);
	assert_non_null(c->m_next);
	assert_null(c->m_next->m_next);
	assert_ptr_equal(c->m_data, a->m_data + 50);
	assert_ptr_equal(c->m_ext.ext_buf, a->m_ext.ext_buf);
	assert_int_equal(c->m_len, 50);
	assert_int_equal(c->m_next->m_len, 200);
	assert_int_equal(m_length(c, NULL), 250);
	m_copydata(c, 0, 250, buf);
	assert_memory_equal(buf, ref + 50, 250);

	d = m_copym(c, 10, M_COPYALL, M_WAITOK);
	assert_non_null(d);
	assert_int_equal(m_length(d, NULL), 240);
	assert_ptr_equal(d->m_ext.ext_cnt, &a->m_ext.ext_count);
	assert_ptr_equal(d->m_next->m_ext.ext_cnt, &b->m_ext.ext_count);
	assert_int_equal(a->m_ext.ext_count, 3);
	assert_int_equal(b->m_ext.ext_count, 3);

	ext_free_calls = 0;
	m_freem(a);
	m_freem(c);
	assert_int_equal(ext_free_calls, 0);
	m_copydata(d, 0, 240, buf);
	assert_memory_equal(buf, ref + 60, 240);
	m_freem(d);
	assert_int_equal(ext_free_calls, 1);
}

/*
 * A record's session reference belongs to the record, not to its copies:
 * it is dropped once, when the last of them goes.
 */
static void
test_copy_session_ref(void **state)
{
	struct ktls_session tls;
	struct test_rng rng;
	struct mbuf *m, *n;

	(void)state;
	test_rng_seed(&rng, 24);
	memset(&tls, 0, sizeof(tls));
	tls.refcount = 2;
	m = make_epg(&rng, 5, 2, 0, 10, 17, NULL);
	m->m_epg_tls = &tls;
	n = m_copym(m, 100, 200, M_WAITOK);
	assert_ptr_equal(n->m_epg_tls, &tls);
	assert_int_equal(tls.refcount, 2);
	m_freem(m);
	assert_int_equal(tls.refcount, 2);
	m_freem(n);
	assert_int_equal(tls.refcount, 1);
}

static int tag_frees;

static void
tag_free(struct m_snd_tag *mst)
{

	(void)mst;
	tag_frees++;
}

/*
 * A packet's send tag: the tag holds its ifnet, every packet header that
 * carries it holds the tag (a copy of the header too), and the driver
 * frees it with the last reference.
 */
static void
test_pkthdr_snd_tag(void **state)
{
	static const struct if_snd_tag_sw sw = { tag_free,
		IF_SND_TAG_TYPE_TLS };
	struct m_snd_tag mst;
	struct ifnet ifp;
	struct mbuf *m, *n;

	(void)state;
	memset(&ifp, 0, sizeof(ifp));
	tag_frees = 0;
	m_snd_tag_init(&mst, &ifp, &sw);
	assert_int_equal(ifp.if_refcount, 1);
	assert_int_equal(mst.refcount, 1);
	m = m_get_ext(40, M_WAITOK);
	m_pkthdr_init(m, M_WAITOK);
	m->m_len = m->m_pkthdr.len = 40;
	m->m_pkthdr.snd_tag = m_snd_tag_ref(&mst);
	m->m_pkthdr.csum_flags |= CSUM_SND_TAG;
	n = m_copym(m, 0, M_COPYALL, M_WAITOK);
	assert_true(n->m_flags & M_PKTHDR);
	assert_ptr_equal(n->m_pkthdr.snd_tag, &mst);
	assert_int_equal(n->m_pkthdr.len, 40);
	assert_int_equal(mst.refcount, 3);
	m_freem(m);
	m_freem(n);
	assert_int_equal(mst.refcount, 1);
	assert_int_equal(tag_frees, 0);
	m_snd_tag_rele(&mst);
	assert_int_equal(tag_frees, 1);
	assert_int_equal(ifp.if_refcount, 0);
}

/* ---- m_chain_check ------------------------------------------------- */

enum corruption {
	C_NONE,
	C_LEN_LONG,
	C_LEN_SHORT,
	C_LEN_NEG,
	C_HDR_BIG,
	C_TRL_BIG,
	C_NPGS_BIG,
	C_NRDY_GT_NPGS,
	C_NRDY_EMPTY_2,
	C_NRDY_NO_FLAG,
	C_NULL_PAGE,
	C_OFF_PAST,
	C_SECOND_IN_CHAIN,
};

static struct mbuf *
make_corrupt(enum corruption c)
{
	struct test_rng rng;
	struct mbuf *m, *n;

	test_rng_seed(&rng, 7);
	m = make_epg(&rng, 13, 2, 50, 60, 16, NULL);
	switch (c) {
	case C_NONE:
		break;
	case C_LEN_LONG:
		m->m_len++;
		break;
	case C_LEN_SHORT:
		m->m_len--;
		break;
	case C_LEN_NEG:
		n = make_plain(&rng, 1);
		n->m_len = -1;
		m->m_next = n;
		break;
	case C_HDR_BIG:
		m->m_epg_hdrlen = MBUF_PEXT_HDR_LEN + 1;
		m->m_len += MBUF_PEXT_HDR_LEN + 1 - 13;
		break;
	case C_TRL_BIG:
		m->m_epg_trllen = MBUF_PEXT_TRAIL_LEN + 1;
		m->m_len += MBUF_PEXT_TRAIL_LEN + 1 - 16;
		break;
	case C_NPGS_BIG:
		m->m_epg_npgs = MBUF_PEXT_MAX_PGS + 1;
		break;
	case C_NRDY_GT_NPGS:
		m->m_flags |= M_NOTREADY;
		m->m_epg_nrdy = 3;
		break;
	case C_NRDY_EMPTY_2:
		n = make_epg(&rng, 5, 0, 0, 0, 32, NULL);
		n->m_flags |= M_NOTREADY;
		n->m_epg_nrdy = 2;
		m->m_next = n;
		break;
	case C_NRDY_NO_FLAG:
		m->m_epg_nrdy = 1;
		break;
	case C_NULL_PAGE:
		vm_page_release(m->m_epg_pa[1]);
		m->m_epg_pa[1] = NULL;
		break;
	case C_OFF_PAST:
		m->m_epg_off = 5;
		break;
	case C_SECOND_IN_CHAIN:
		n = make_epg(&rng, 5, 1, 0, 100, 16, NULL);
		n->m_epg_trllen = 17;
		m->m_next = n;
		break;
	}
	return (m);
}

/*
 * Run m_chain_check() on a corrupted chain in a child.  With INVARIANTS its
 * KASSERT must panic (abort); built without (-Dinvariants=false) the check
 * is compiled out and it must return EDOOFUS instead (sys/mbuf.h).
 */
static void
expect_chain_check_rejects(enum corruption c)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mbuf *m = make_corrupt(c);

		/* Silence the expected diagnostics. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		/* 0: accepted (a missed corruption), 1: EDOOFUS. */
		_exit(m_chain_check(m) == EDOOFUS ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
#ifdef INVARIANTS
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("corruption %d: m_chain_check did not abort "
			 "(status %#x)",
		    (int)c, status);
#else
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		fail_msg("corruption %d: m_chain_check did not return "
			 "EDOOFUS (status %#x)",
		    (int)c, status);
#endif
}

static void
test_chain_check_rejects(void **state)
{
	struct mbuf *m;

	(void)state;
	/* Sound chains pass, including a ready empty record. */
	m = make_corrupt(C_NONE);
	assert_int_equal(m_chain_check(m), 0);
	m->m_flags |= M_NOTREADY;
	m->m_epg_nrdy = 2;
	assert_int_equal(m_chain_check(m), 0);
	m->m_epg_nrdy = 0;
	m->m_flags &= ~M_NOTREADY;
	m_freem(m);

	for (int c = C_LEN_LONG; c <= C_SECOND_IN_CHAIN; c++)
		expect_chain_check_rejects((enum corruption)c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_refcounts),
		cmocka_unit_test(test_refcount_release_if_not_last),
		cmocka_unit_test(test_uiotombuf_splits),
		cmocka_unit_test(test_copydata_boundaries),
		cmocka_unit_test(test_to_iovec_boundaries),
		cmocka_unit_test(test_epg_off_trims),
		cmocka_unit_test(test_free_notready_partial),
		cmocka_unit_test(test_chain_check_rejects),
		cmocka_unit_test(test_dupcl_epg),
		cmocka_unit_test(test_copym_chain),
		cmocka_unit_test(test_copy_session_ref),
		cmocka_unit_test(test_pkthdr_snd_tag),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
