/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for src/kern/uipc_sockbuf.c: the not-ready accounting of
 * FreeBSD's sys/kern/uipc_sockbuf.c sballoc() and sbready() (sb_acc, sb_ccc,
 * sb_fnrdy, M_NOTREADY/M_BLOCKED), the mbuf memory of sballoc()/sbfree()
 * (sb_mbcnt) and sbspace(), sbready() in and out of order, sbdrop_locked()
 * and sbflush_locked(), as tables and as a randomized comparison with a
 * small reference model.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hexutil.h"
#include "sys/mbuf.h"
#include "sys/sockbuf.h"

struct sbfix {
	struct mtx mtx;
	struct sockbuf sb;
};

static void
sbfix_init(struct sbfix *f)
{

	memset(f, 0, sizeof(*f));
	mtx_init(&f->mtx, "sbtest");
	f->sb.sb_mtx = &f->mtx;
	f->sb.sb_hiwat = 1 << 20;
	mtx_lock(&f->mtx);
}

static void
sbfix_fini(struct sbfix *f)
{

	sbflush_locked(&f->sb);
	mtx_unlock(&f->mtx);
	mtx_destroy(&f->mtx);
}

/*
 * FreeBSD's facts, not src/'s: an mbuf is MSIZE bytes (sys/sys/param.h),
 * and sballoc() charges it plus m_ext.ext_size when M_EXT is set
 * (sys/kern/uipc_sockbuf.c), which for M_EXTPG mbufs is a page per page.
 */
#define FB_MSIZE 256
#define FB_PAGE 4096

#define assert_sb_valid(sb)                                             \
	do {                                                            \
		assert_int_equal(sbcheck((sb), __FILE__, __LINE__), 0); \
		assert_int_equal(m_chain_check((sb)->sb_mb), 0);        \
	} while (0)

/* Item kinds. */
enum kind { K_PLAIN, K_EPG, K_EMPTY };

/*
 * A record-like mbuf: K_PLAIN len bytes (1 unit), K_EPG hdr 5 + npgs
 * pages (last one 'last' bytes) + trailer 16 (npgs units), K_EMPTY a
 * framed empty record, hdr 5 + trailer 32 (1 unit).
 */
static struct mbuf *
mk(enum kind k, int len_or_npgs, int last, bool ready)
{
	struct mbuf *m;

	switch (k) {
	case K_PLAIN:
		m = m_get_ext(len_or_npgs, M_WAITOK);
		memset(m->m_data, 'p', len_or_npgs);
		m->m_len = len_or_npgs;
		break;
	case K_EPG:
		m = mb_alloc_ext_pgs(M_WAITOK, NULL, 0);
		m->m_epg_hdrlen = 5;
		m->m_epg_trllen = 16;
		for (int i = 0; i < len_or_npgs; i++)
			m->m_epg_pa[i] = vm_page_alloc_sim();
		m->m_epg_npgs = len_or_npgs;
		m->m_ext.ext_size = len_or_npgs * FB_PAGE;
		m->m_epg_last_len = last;
		m->m_len = 5 + m_epg_datalen(m) + 16;
		if (!ready)
			m->m_epg_nrdy = len_or_npgs;
		break;
	case K_EMPTY:
	default:
		m = mb_alloc_ext_pgs(M_WAITOK, NULL, 0);
		m->m_epg_hdrlen = 5;
		m->m_epg_trllen = 32;
		m->m_len = 37;
		if (!ready)
			m->m_epg_nrdy = 1;
		break;
	}
	if (!ready)
		m->m_flags |= M_NOTREADY;
	return (m);
}

static struct mbuf *
nth(struct sockbuf *sb, int i)
{
	struct mbuf *m = sb->sb_mb;

	while (i-- > 0 && m != NULL)
		m = m->m_next;
	return (m);
}

static int
idx_of(struct sockbuf *sb, struct mbuf *target)
{
	int i = 0;

	if (target == NULL)
		return (-1);
	for (struct mbuf *m = sb->sb_mb; m != NULL; m = m->m_next, i++)
		if (m == target)
			return (i);
	return (-2);
}

/* ---- table-driven sballoc()/sbready() rules ------------------------- */

enum opcode { APPEND, READY, DROP, END };

struct step {
	enum opcode op;
	enum kind kind; /* APPEND */
	int arg;	/* APPEND: len or npgs; READY: index; DROP: len */
	int arg2;	/* APPEND: last page len / ready; READY: count */
	bool ready;	/* APPEND */
	int ret;	/* READY: expected return, -1 = unchecked */
	/*
	 * State after the step: fnrdy is an index (-1 = NULL); flags has
	 * one char per mbuf: 'B' blocked, 'N' not ready, 'X' both, '.'
	 * neither (NULL = skip).
	 */
	u_int acc, ccc;
	int fnrdy;
	const char *blocked;
};

static void
check_flags(struct sockbuf *sb, const char *want, int stepno)
{
	int i = 0;
	struct mbuf *m;

	if (want == NULL)
		return;
	for (m = sb->sb_mb; m != NULL; m = m->m_next, i++) {
		int f = m->m_flags & M_NOTAVAIL;
		char c = f == M_NOTAVAIL ? 'X' :
		    f == M_NOTREADY	 ? 'N' :
		    f == M_BLOCKED	 ? 'B' :
					   '.';

		if (want[i] != c)
			fail_msg("step %d: mbuf %d flags '%c', want '%c'",
			    stepno, i, c, want[i]);
	}
	assert_int_equal(want[i], '\0');
}

static void
run_steps(const struct step *steps)
{
	struct sbfix f;
	int ret;

	sbfix_init(&f);
	for (int s = 0; steps[s].op != END; s++) {
		const struct step *st = &steps[s];

		switch (st->op) {
		case APPEND:
			sbappendstream_locked(&f.sb,
			    mk(st->kind, st->arg, st->arg2, st->ready), 0);
			break;
		case READY:
			ret = sbready(&f.sb, nth(&f.sb, st->arg), st->arg2);
			if (st->ret >= 0 && ret != st->ret)
				fail_msg("step %d: sbready returned %d, "
					 "want %d",
				    s, ret, st->ret);
			break;
		case DROP:
			sbdrop_locked(&f.sb, st->arg);
			break;
		default:
			break;
		}
		assert_sb_valid(&f.sb);
		if (f.sb.sb_acc != st->acc || f.sb.sb_ccc != st->ccc ||
		    idx_of(&f.sb, f.sb.sb_fnrdy) != st->fnrdy)
			fail_msg("step %d: acc %u ccc %u fnrdy %d, want "
				 "%u %u %d",
			    s, f.sb.sb_acc, f.sb.sb_ccc,
			    idx_of(&f.sb, f.sb.sb_fnrdy), st->acc, st->ccc,
			    st->fnrdy);
		check_flags(&f.sb, st->blocked, s);
	}
	/* Whatever is still not ready is the test's to free. */
	while (f.sb.sb_fnrdy != NULL) {
		struct mbuf *m = f.sb.sb_fnrdy;

		(void)sbready(&f.sb, m,
		    (m->m_flags & M_EXTPG) && m->m_epg_npgs ? m->m_epg_nrdy :
							      1);
		assert_sb_valid(&f.sb);
	}
	sbfix_fini(&f);
}

/* EPG sizes: 3 pages with last 100 -> 5 + 8292 + 16 = 8313. */
#define E3 8313u
/* 1 page, 10 bytes: 31. */
#define E1 31u

static void
test_rules_in_order(void **state)
{
	const struct step steps[] = {
		/* Ready data is available at once. */
		{ APPEND, K_PLAIN, 10, 0, true, 0, 10, 10, -1, "." },
		/* A not-ready record becomes fnrdy; not available. */
		{ APPEND, K_EPG, 3, 100, false, 0, 10, 10 + E3, 1, ".N" },
		/* Everything behind it is blocked, ready or not. */
		{ APPEND, K_PLAIN, 7, 0, true, 0, 10, 17 + E3, 1, ".NB" },
		{ APPEND, K_EPG, 1, 10, false, 0, 10, 17 + E3 + E1, 1, ".NBX" },
		{ APPEND, K_PLAIN, 5, 0, true, 0, 10, 22 + E3 + E1, 1,
		    ".NBXB" },
		/*
		 * Partial page count on the blocker: nothing moves (the
		 * return value is checked in
		 * test_partial_blocker_returns_einprogress).
		 */
		{ READY, 0, 1, 1, false, -1, 10, 22 + E3 + E1, 1, ".NBXB" },
		{ READY, 0, 1, 1, false, -1, 10, 22 + E3 + E1, 1, ".NBXB" },
		/* The last page: the blocker and the ready run behind it. */
		{ READY, 0, 1, 1, false, 0, 17 + E3, 22 + E3 + E1, 3, "...XB" },
		/* The next one (one unit) unblocks the tail. */
		{ READY, 0, 3, 1, false, 0, 22 + E3 + E1, 22 + E3 + E1, -1,
		    "....." },
		{ END },
	};

	(void)state;
	run_steps(steps);
}

static void
test_rules_out_of_order(void **state)
{
	const struct step steps[] = {
		{ APPEND, K_EPG, 1, 10, false, 0, 0, E1, 0, "N" },
		{ APPEND, K_EPG, 3, 100, false, 0, 0, E1 + E3, 0, "NX" },
		{ APPEND, K_EMPTY, 0, 0, false, 0, 0, E1 + E3 + 37, 0, "NXX" },
		{ APPEND, K_PLAIN, 9, 0, true, 0, 0, E1 + E3 + 46, 0, "NXXB" },
		/* The later records complete first: still blocked. */
		{ READY, 0, 2, 1, false, EINPROGRESS, 0, E1 + E3 + 46, 0,
		    "NXBB" },
		{ READY, 0, 1, 2, false, EINPROGRESS, 0, E1 + E3 + 46, 0,
		    "NXBB" },
		{ READY, 0, 1, 1, false, EINPROGRESS, 0, E1 + E3 + 46, 0,
		    "NBBB" },
		/* The head completes: all four become available. */
		{ READY, 0, 0, 1, false, 0, E1 + E3 + 46, E1 + E3 + 46, -1,
		    "...." },
		/* Drop part of the first record, then across mbufs. */
		{ DROP, 0, 7, 0, false, 0, E1 + E3 + 39, E1 + E3 + 39, -1,
		    "...." },
		{ DROP, 0, (int)(E1 - 7 + 100), 0, false, 0, E3 + 46 - 100,
		    E3 + 46 - 100, -1, "..." },
		/* Exactly up to the empty record: it goes too. */
		{ DROP, 0, (int)(E3 - 100), 0, false, 0, 46, 46, -1, ".." },
		{ DROP, 0, 37, 0, false, 0, 9, 9, -1, "." },
		{ DROP, 0, 9, 0, false, 0, 0, 0, -1, "" },
		{ END },
	};

	(void)state;
	run_steps(steps);
}

/* One sbready() call spanning several not-ready mbufs (a batch). */
static void
test_rules_batch(void **state)
{
	const struct step steps[] = {
		{ APPEND, K_PLAIN, 4, 0, true, 0, 4, 4, -1, "." },
		{ APPEND, K_EPG, 3, 100, false, 0, 4, 4 + E3, 1, ".N" },
		{ APPEND, K_EMPTY, 0, 0, false, 0, 4, 4 + E3 + 37, 1, ".NX" },
		{ APPEND, K_EPG, 1, 10, false, 0, 4, 4 + E3 + 37 + E1, 1,
		    ".NXX" },
		{ APPEND, K_PLAIN, 2, 0, false, 0, 4, 6 + E3 + 37 + E1, 1,
		    ".NXXX" },
		/* 3 + 1 + 1 units: records 1..3 at once, 4 stays. */
		{ READY, 0, 1, 5, false, 0, 4 + E3 + 37 + E1, 6 + E3 + 37 + E1,
		    4, "....X" },
		/* Drop everything available; the not-ready one remains. */
		{ DROP, 0, (int)(4 + E3 + 37 + E1), 0, false, 0, 0, 2, 0, "X" },
		{ READY, 0, 0, 1, false, 0, 2, 2, -1, "." },
		{ END },
	};

	(void)state;
	run_steps(steps);
}

/*
 * An out-of-order completion, or a blocker still partly not ready, leaves
 * the data blocked: FreeBSD's sbready() returns EINPROGRESS when
 * m0 == sb_fnrdy but only
 * some of its pages completed (if (m0 == m) return (EINPROGRESS)).
 */
static void
test_partial_blocker_returns_einprogress(void **state)
{
	struct sbfix f;
	struct mbuf *m;

	(void)state;
	sbfix_init(&f);
	m = mk(K_EPG, 3, 100, false);
	sbappendstream_locked(&f.sb, m, 0);
	assert_sb_valid(&f.sb);
	assert_int_equal(sbready(&f.sb, m, 1), EINPROGRESS);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_acc, 0);
	assert_ptr_equal(f.sb.sb_fnrdy, m);
	assert_int_equal(m->m_epg_nrdy, 2);
	assert_int_equal(sbready(&f.sb, m, 2), 0);
	assert_int_equal(f.sb.sb_acc, E3);
	sbfix_fini(&f);
}

/* sbflush_locked() frees ready mbufs and leaves not-ready ones alone. */
static void
test_flush_leaves_notready(void **state)
{
	struct vm_page *held[4];
	struct mbuf *a, *b, *c, *d;
	struct sbfix f;

	(void)state;
	sbfix_init(&f);
	a = mk(K_EPG, 1, 10, true);
	b = mk(K_EPG, 1, 10, false);
	c = mk(K_EPG, 1, 10, true);  /* blocked */
	d = mk(K_EPG, 1, 10, false); /* not ready, blocked */
	held[0] = a->m_epg_pa[0];
	held[1] = b->m_epg_pa[0];
	held[2] = c->m_epg_pa[0];
	held[3] = d->m_epg_pa[0];
	for (int i = 0; i < 4; i++)
		vm_page_hold(held[i]);
	sbappendstream_locked(&f.sb, a, 0);
	b->m_next = c;
	c->m_next = d;
	sbappendstream_locked(&f.sb, b, 0);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_acc, E1);
	assert_int_equal(f.sb.sb_ccc, 4 * E1);

	sbflush_locked(&f.sb);
	assert_sb_valid(&f.sb);
	assert_null(f.sb.sb_mb);
	assert_null(f.sb.sb_mbtail);
	assert_null(f.sb.sb_fnrdy);
	assert_int_equal(f.sb.sb_acc, 0);
	assert_int_equal(f.sb.sb_ccc, 0);
	/* Ready mbufs (a, c) released their pages; b and d did not. */
	assert_int_equal(held[0]->refcount, 1);
	assert_int_equal(held[1]->refcount, 2);
	assert_int_equal(held[2]->refcount, 1);
	assert_int_equal(held[3]->refcount, 2);
	assert_true(b->m_flags & M_NOTREADY);
	assert_int_equal(b->m_epg_nrdy, 1);
	assert_true(d->m_flags & M_NOTREADY);
	/* Their owner frees them later (tcp_usr_ready on a dropped conn). */
	mb_free_notready(b, 1);
	mb_free_notready(d, 1);
	assert_int_equal(held[1]->refcount, 1);
	assert_int_equal(held[3]->refcount, 1);
	for (int i = 0; i < 4; i++)
		vm_page_release(held[i]);

	/* The buffer is usable again after a flush. */
	sbappendstream_locked(&f.sb, mk(K_PLAIN, 3, 0, true), 0);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_acc, 3);
	sbfix_fini(&f);
}

/* Empty records: one unit each; an empty plain mbuf is not queued. */
static void
test_empty_records(void **state)
{
	struct sbfix f;
	struct mbuf *e0, *e1, *z;

	(void)state;
	sbfix_init(&f);
	e0 = mk(K_EMPTY, 0, 0, false);
	e1 = mk(K_EMPTY, 0, 0, false);
	e0->m_next = e1;
	sbappendstream_locked(&f.sb, e0, 0);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_ccc, 74);
	assert_int_equal(f.sb.sb_acc, 0);
	/* Two units: both records. */
	assert_int_equal(sbready(&f.sb, e0, 2), 0);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_acc, 74);
	assert_int_equal(e0->m_epg_nrdy, 0);
	assert_int_equal(e1->m_epg_nrdy, 0);
	assert_null(f.sb.sb_fnrdy);
	sbdrop_locked(&f.sb, 74);
	assert_sb_valid(&f.sb);
	assert_null(f.sb.sb_mb);

	/*
	 * A zero-length plain mbuf (a zero-length write) is freed on append,
	 * as sbcompress() does, and costs nothing.
	 */
	z = mk(K_PLAIN, 0, 0, true);
	sbappendstream_locked(&f.sb, z, 0);
	assert_null(f.sb.sb_mb);
	assert_int_equal(f.sb.sb_mbcnt, 0);
	z = mk(K_PLAIN, 0, 0, true);
	z->m_next = mk(K_PLAIN, 5, 0, true);
	sbappendstream_locked(&f.sb, z, 0);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_mb->m_len, 5);
	sbdrop_locked(&f.sb, 2);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_acc, 3);
	assert_int_equal(f.sb.sb_mb->m_len, 3);
	assert_null(f.sb.sb_mb->m_next);
	sbfix_fini(&f);
}

/*
 * sb_mbcnt: each mbuf costs MSIZE and its external storage whether ready
 * or not, dropping it gives both back, a partial drop neither; flushing
 * empties it; sbspace() is the smaller of the room in bytes and in mbuf
 * memory, and goes negative once either is overdrawn.
 */
static void
test_mbuf_memory(void **state)
{
	struct sbfix f;
	struct mbuf *small, *big, *empty;
	long bytes, mem;

	(void)state;
	sbfix_init(&f);
	f.sb.sb_hiwat = 32768;
	f.sb.sb_mbmax = 8 * 32768;
	sbappendstream_locked(&f.sb, mk(K_PLAIN, 100, 0, true), 0);
	mem = FB_MSIZE + 100;
	assert_int_equal(f.sb.sb_mbcnt, mem);
	small = mk(K_EPG, 1, 10, false);
	big = mk(K_EPG, 3, 100, false);
	empty = mk(K_EMPTY, 0, 0, false);
	sbappendstream_locked(&f.sb, small, 0);
	sbappendstream_locked(&f.sb, big, 0);
	sbappendstream_locked(&f.sb, empty, 0);
	mem += FB_MSIZE + FB_PAGE + FB_MSIZE + 3 * FB_PAGE + FB_MSIZE;
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_mbcnt, mem);
	bytes = 100 + 31 + (21 + 2 * 4096 + 100) + 37;
	assert_int_equal(f.sb.sb_ccc, bytes);
	assert_int_equal(sbspace(&f.sb), 32768 - bytes);

	/*
	 * SIM: a ready record keeps its charge.  FreeBSD's sbready_compress()
	 * would copy this 31-byte record into a plain mbuf and give its page
	 * back (docs/differences.md).
	 */
	assert_int_equal(sbready(&f.sb, small, 1), 0);
	assert_int_equal(f.sb.sb_mbcnt, mem);
	sbdrop_locked(&f.sb, 40);
	assert_int_equal(f.sb.sb_mbcnt, mem);
	sbdrop_locked(&f.sb, 60);
	mem -= FB_MSIZE + 100;
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_mbcnt, mem);

	/* Out of mbuf memory with most of the bytes free. */
	f.sb.sb_mbmax = (u_int)mem + 100;
	assert_int_equal(sbspace(&f.sb), 100);
	f.sb.sb_mbmax = (u_int)mem - 100;
	assert_int_equal(sbspace(&f.sb), -100);
	f.sb.sb_flags |= SB_STOP;
	assert_int_equal(sbspace(&f.sb), 0);
	f.sb.sb_flags &= ~SB_STOP;

	/* The not-ready records stay with their owner, as in a drop. */
	sbflush_locked(&f.sb);
	assert_int_equal(f.sb.sb_mbcnt, 0);
	big->m_next = NULL;
	mb_free_notready(big, 3);
	mb_free_notready(empty, 1);
	sbfix_fini(&f);
}

/* ---- randomized model ---------------------------------------------- */

#define MAXITEMS 64

struct item {
	struct mbuf *m;
	u_int len;
	u_int mem;    /* MSIZE + external storage */
	int units;    /* outstanding; 0 = ready */
	bool blocked; /* M_BLOCKED expected */
	bool paged;   /* M_EXTPG with pages: units are pages */
};

struct model {
	struct item it[MAXITEMS];
	int n;
};

static int
model_fnrdy(const struct model *M)
{

	for (int i = 0; i < M->n; i++)
		if (M->it[i].units > 0)
			return (i);
	return (-1);
}

static void
model_check(struct sbfix *f, const struct model *M, uint64_t seed, int step)
{
	u_int acc = 0, ccc = 0, mem = 0;
	int fn = model_fnrdy(M), i = 0;
	struct mbuf *m;

	for (int k = 0; k < M->n; k++) {
		ccc += M->it[k].len;
		mem += M->it[k].mem;
		if (fn < 0 || k < fn)
			acc += M->it[k].len;
	}
	assert_sb_valid(&f->sb);
	if (f->sb.sb_acc != acc || f->sb.sb_ccc != ccc ||
	    f->sb.sb_mbcnt != mem || idx_of(&f->sb, f->sb.sb_fnrdy) != fn)
		fail_msg("seed %llu step %d: acc %u/%u ccc %u/%u mbcnt %u/%u "
			 "fnrdy %d/%d",
		    (unsigned long long)seed, step, f->sb.sb_acc, acc,
		    f->sb.sb_ccc, ccc, f->sb.sb_mbcnt, mem,
		    idx_of(&f->sb, f->sb.sb_fnrdy), fn);
	for (m = f->sb.sb_mb; m != NULL; m = m->m_next, i++) {
		const struct item *it = &M->it[i];

		assert_true(i < M->n);
		assert_ptr_equal(m, it->m);
		assert_int_equal(m->m_len, it->len);
		if (((m->m_flags & M_NOTREADY) != 0) != (it->units > 0) ||
		    ((m->m_flags & M_BLOCKED) != 0) != it->blocked)
			fail_msg("seed %llu step %d: mbuf %d flags %#x, "
				 "units %d blocked %d",
			    (unsigned long long)seed, step, i, m->m_flags,
			    it->units, it->blocked);
		if (it->paged)
			assert_int_equal(m->m_epg_nrdy, it->units);
	}
	assert_int_equal(i, M->n);
}

static void
model_remove_front(struct model *M)
{

	memmove(&M->it[0], &M->it[1], (M->n - 1) * sizeof(M->it[0]));
	M->n--;
}

static void
random_run(uint64_t seed, int nsteps)
{
	struct test_rng rng;
	struct model M;
	struct sbfix f;

	test_rng_seed(&rng, seed);
	memset(&M, 0, sizeof(M));
	sbfix_init(&f);
	for (int step = 0; step < nsteps; step++) {
		int op = test_rng_u64(&rng) % 10;

		if (op < 4 && M.n < MAXITEMS) {
			/* Append 1..3 mbufs as one chain. */
			struct mbuf *top = NULL, *tail = NULL;
			int cnt = 1 + test_rng_u64(&rng) % 3;
			bool haveblocker = model_fnrdy(&M) >= 0;

			for (int c = 0; c < cnt && M.n < MAXITEMS; c++) {
				int k = test_rng_u64(&rng) % 4;
				bool ready = test_rng_u64(&rng) % 3 == 0;
				struct item *it = &M.it[M.n++];
				struct mbuf *m;

				u_int len;

				if (k == 0) {
					/*
					 * Empty chains (zero-length writes)
					 * are ready; append frees them.
					 */
					len = test_rng_u64(&rng) % 50;
					if (len == 0 && !ready)
						len = 1;
					m = mk(K_PLAIN, (int)len, 0, ready);
					it->mem = FB_MSIZE + len;
				} else if (k == 3) {
					m = mk(K_EMPTY, 0, 0, ready);
					it->mem = FB_MSIZE;
				} else {
					len = 1 + test_rng_u64(&rng) % 5;
					m = mk(K_EPG, (int)len,
					    1 + test_rng_u64(&rng) % 4096,
					    ready);
					it->mem = FB_MSIZE + len * FB_PAGE;
				}
				if (tail != NULL)
					tail->m_next = m;
				else
					top = m;
				tail = m;
				if (m->m_len == 0) {
					M.n--;
					continue;
				}
				it->m = m;
				it->len = m->m_len;
				it->paged = k == 1 || k == 2;
				it->units = ready ? 0 :
				    it->paged	  ? m->m_epg_npgs :
						    1;
				it->blocked = haveblocker;
				if (!ready)
					haveblocker = true;
			}
			sbappendstream_locked(&f.sb, top, 0);
		} else if (op < 7 && model_fnrdy(&M) >= 0) {
			/* sbready on a random not-ready item. */
			int cand[MAXITEMS], nc = 0, i, run = 0, count, ret;
			int fn = model_fnrdy(&M), want;
			bool partial_head;

			for (i = 0; i < M.n; i++)
				if (M.it[i].units > 0)
					cand[nc++] = i;
			i = cand[test_rng_u64(&rng) % nc];
			for (int k = i; k < M.n && M.it[k].units > 0; k++)
				run += M.it[k].units;
			count = 1 + test_rng_u64(&rng) % run;
			partial_head = count < M.it[i].units;
			want = (i == fn && !partial_head) ? 0 : EINPROGRESS;
			ret = sbready(&f.sb, M.it[i].m, count);
			/*
			 * A partial completion of the blocker itself is
			 * covered by test_partial_blocker_returns_einprogress.
			 */
			if (!(i == fn && partial_head) && ret != want)
				fail_msg("seed %llu step %d: sbready %d",
				    (unsigned long long)seed, step, ret);
			for (int k = i; count > 0; k++) {
				int c = min(count, M.it[k].units);

				M.it[k].units -= c;
				count -= c;
				if (i == fn && M.it[k].units == 0)
					M.it[k].blocked = false;
			}
			if (i == fn) {
				for (int k = 0; k < M.n && M.it[k].units == 0;
				     k++)
					M.it[k].blocked = false;
			}
		} else if (op < 9) {
			/* Drop some available bytes. */
			u_int acc = f.sb.sb_acc;
			u_int len = acc ? test_rng_u64(&rng) % (acc + 1) : 0;

			sbdrop_locked(&f.sb, len);
			while (M.n > 0 && len > 0) {
				if (M.it[0].len > len) {
					M.it[0].len -= len;
					len = 0;
					break;
				}
				len -= M.it[0].len;
				model_remove_front(&M);
			}
			while (M.n > 0 && M.it[0].len == 0 &&
			    M.it[0].units == 0 && !M.it[0].blocked)
				model_remove_front(&M);
		} else if (test_rng_u64(&rng) % 8 == 0) {
			/* Flush; the not-ready mbufs come back to us. */
			struct item keep[MAXITEMS];
			int nk = 0;

			for (int k = 0; k < M.n; k++)
				if (M.it[k].units > 0)
					keep[nk++] = M.it[k];
			sbflush_locked(&f.sb);
			for (int k = 0; k < nk; k++) {
				keep[k].m->m_next = NULL;
				mb_free_notready(keep[k].m, keep[k].units);
			}
			M.n = 0;
		}
		model_check(&f, &M, seed, step);
	}
	/* Complete everything in order, then drain. */
	while (model_fnrdy(&M) >= 0) {
		int fn = model_fnrdy(&M);

		assert_int_equal(sbready(&f.sb, M.it[fn].m, M.it[fn].units), 0);
		M.it[fn].units = 0;
		for (int k = 0; k < M.n && M.it[k].units == 0; k++)
			M.it[k].blocked = false;
		model_check(&f, &M, seed, -1);
	}
	sbdrop_locked(&f.sb, f.sb.sb_acc);
	assert_sb_valid(&f.sb);
	assert_int_equal(f.sb.sb_ccc, 0);
	sbfix_fini(&f);
}

static void
test_random_model(void **state)
{

	(void)state;
	for (uint64_t seed = 1; seed <= 300; seed++)
		random_run(seed, 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_in_order),
		cmocka_unit_test(test_rules_out_of_order),
		cmocka_unit_test(test_rules_batch),
		cmocka_unit_test(test_partial_blocker_returns_einprogress),
		cmocka_unit_test(test_flush_leaves_notready),
		cmocka_unit_test(test_empty_records),
		cmocka_unit_test(test_mbuf_memory),
		cmocka_unit_test(test_random_model),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
