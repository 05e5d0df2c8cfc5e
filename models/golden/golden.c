/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Golden record-layout model (see golden.h and README.md).
 *
 * Deliberately simple: no mbufs, no socket buffer, no crypto.  Each system
 * call is replayed as the loop the kernel runs, sampling the socket-buffer
 * space the caller scripted, and every record is computed from the suite
 * and its plaintext length alone.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sys/ktls.h"

#include "golden.h"

#define PG_MASK ((uint64_t)GOLDEN_PAGE_SIZE - 1)

/* Working state of one golden_run_sock() call. */
struct gstate {
	const struct golden_suite *suite;
	struct golden_sock sock; /* sb_lowat changes under sendfile */
	uint64_t seq;
	struct golden_record *recs;
	size_t nrecs;
	size_t cap;
};

/* Cursor over an op's scripted sbspace() readings. */
struct gspace {
	const long *v;
	size_t n;
	size_t i;
};

static long
space_next(struct gspace *sp)
{

	/* Exhausted (or no script): the buffer never fills up. */
	if (sp->v == NULL || sp->i >= sp->n)
		return (LONG_MAX);
	return (sp->v[sp->i++]);
}

/* MAC length of a CBC suite's HMAC, its hash's length; 0 if not an HMAC. */
static size_t
mac_len(int auth_algorithm)
{

	switch (auth_algorithm) {
	case CRYPTO_SHA1_HMAC:
		return (SHA1_HASH_LEN);
	case CRYPTO_SHA2_256_HMAC:
		return (SHA2_256_HASH_LEN);
	case CRYPTO_SHA2_384_HMAC:
		return (SHA2_384_HASH_LEN);
	default:
		return (0);
	}
}

/*
 * Is this a suite ktls_create_session() (sys/kern/uipc_ktls.c) accepts for
 * transmit?  GCM and ChaCha20-Poly1305 only with TLS 1.2/1.3 and no HMAC
 * (GCM also tolerates the GMAC ids, COMPAT_FREEBSD12); AES-CBC with SHA1 for
 * TLS 1.0-1.2 and SHA2-256/384 for TLS 1.2 only.
 */
static bool
suite_valid(const struct golden_suite *s)
{

	switch (s->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		if (s->auth_algorithm != 0 &&
		    s->auth_algorithm != CRYPTO_AES_128_NIST_GMAC &&
		    s->auth_algorithm != CRYPTO_AES_192_NIST_GMAC &&
		    s->auth_algorithm != CRYPTO_AES_256_NIST_GMAC)
			return (false);
		return (s->tls_vminor == TLS_MINOR_VER_TWO ||
		    s->tls_vminor == TLS_MINOR_VER_THREE);
	case CRYPTO_CHACHA20_POLY1305:
		return (s->auth_algorithm == 0 &&
		    (s->tls_vminor == TLS_MINOR_VER_TWO ||
			s->tls_vminor == TLS_MINOR_VER_THREE));
	case CRYPTO_AES_CBC:
		switch (s->auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
			return (s->tls_vminor >= TLS_MINOR_VER_ZERO &&
			    s->tls_vminor <= TLS_MINOR_VER_TWO);
		case CRYPTO_SHA2_256_HMAC:
		case CRYPTO_SHA2_384_HMAC:
			return (s->tls_vminor == TLS_MINOR_VER_TWO);
		default:
			return (false);
		}
	default:
		return (false);
	}
}

bool
golden_permit_empty(const struct golden_suite *suite)
{

	/*
	 * Only AES-CBC TLS 1.0 may send empty records
	 * (ktls_permit_empty_frames()): the 0/n-1 record split that defends
	 * the chained-IV construction against BEAST.
	 */
	return (suite->cipher_algorithm == CRYPTO_AES_CBC &&
	    suite->tls_vminor == TLS_MINOR_VER_ZERO);
}

int
golden_frame(const struct golden_suite *suite, uint8_t type, size_t plen,
    struct golden_record *rec)
{
	size_t maclen, len;
	bool tls13;

	if (!suite_valid(suite) || plen > TLS_MAX_MSG_SIZE_V10_2)
		return (EINVAL);
	memset(rec, 0, sizeof(*rec));
	tls13 = suite->tls_vminor == TLS_MINOR_VER_THREE;

	switch (suite->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
	case CRYPTO_CHACHA20_POLY1305:
		if (tls13) {
			/*
			 * RFC 8446 5.2: TLSInnerPlaintext is the payload,
			 * the real type byte and (never, in KTLS) zero
			 * padding; the 16-byte tag follows.
			 */
			rec->explicit_len = 0;
			rec->trailer_len = 1 + AES_GMAC_HASH_LEN;
		} else if (suite->cipher_algorithm == CRYPTO_AES_NIST_GCM_16) {
			/*
			 * RFC 5288 3: 8 explicit nonce bytes follow the
			 * header (FreeBSD's ktls_frame() writes a counter).
			 */
			rec->explicit_len = 8;
			rec->trailer_len = AES_GMAC_HASH_LEN;
		} else {
			/* RFC 7905 2: nonce fully implicit. */
			rec->explicit_len = 0;
			rec->trailer_len = POLY1305_HASH_LEN;
		}
		break;
	case CRYPTO_AES_CBC:
		/*
		 * RFC 4346 6.2.3.2 / RFC 5246 6.2.3.2: TLS 1.1+ carries a
		 * 16-byte explicit IV; TLS 1.0 chains the IV.  MAC and
		 * padding form the trailer; FreeBSD uses the least padding
		 * that block-aligns P + MAC (ktls_frame()), counting the
		 * padding-length byte: 1..16 bytes.
		 */
		maclen = mac_len(suite->auth_algorithm);
		rec->explicit_len =
		    suite->tls_vminor >= TLS_MINOR_VER_ONE ? AES_BLOCK_LEN : 0;
		rec->trailer_len =
		    maclen + (AES_BLOCK_LEN - (plen + maclen) % AES_BLOCK_LEN);
		break;
	default:
		return (EINVAL);
	}

	len = rec->explicit_len + plen + rec->trailer_len;
	rec->plen = plen;
	rec->reclen = GOLDEN_HDR_LEN + len;
	rec->inner_type = type;
	rec->vmajor = TLS_MAJOR_VER_ONE;
	if (tls13) {
		/* RFC 8446 5.1: legacy_record_version 3.3, opaque type. */
		rec->outer_type = TLS_RLTYPE_APP;
		rec->vminor = TLS_MINOR_VER_TWO;
	} else {
		rec->outer_type = type;
		rec->vminor = (uint8_t)suite->tls_vminor;
	}
	rec->hdr[0] = rec->outer_type;
	rec->hdr[1] = rec->vmajor;
	rec->hdr[2] = rec->vminor;
	rec->hdr[3] = (uint8_t)(len >> 8);
	rec->hdr[4] = (uint8_t)len;
	return (0);
}

/*
 * Append one record; sequence numbers follow append order (ktls_seq(),
 * called from sbappendstream_locked()).
 */
static int
emit(struct gstate *st, size_t op_index, uint8_t type, size_t plen,
    enum golden_src src, uint64_t src_off)
{
	struct golden_record *r;
	size_t ncap;
	int error;

	if (st->nrecs == st->cap) {
		ncap = st->cap == 0 ? 16 : st->cap * 2;
		r = reallocarray(st->recs, ncap, sizeof(*r));
		if (r == NULL)
			return (ENOMEM);
		st->recs = r;
		st->cap = ncap;
	}
	r = &st->recs[st->nrecs];
	error = golden_frame(st->suite, type, plen, r);
	if (error != 0)
		return (error);
	r->seqno = st->seq++;
	r->op_index = op_index;
	r->src = src;
	r->src_off = src_off;
	st->nrecs++;
	return (0);
}

/*
 * Cut a copied chunk into records the way m_uiotombuf(..., maxseg =
 * max_frame_len, M_EXTPG) does: one record per max_frame_len bytes, the
 * last one shorter; a zero-byte chunk is one empty record
 * (m_uiotombuf_nomap() in sys/kern/uipc_mbuf.c).
 */
static int
emit_chunk(struct gstate *st, size_t op_index, uint8_t type, size_t chunk,
    enum golden_src src, uint64_t src_off)
{
	size_t n;
	int error;

	if (chunk == 0)
		return (emit(st, op_index, type, 0, src, src_off));
	while (chunk > 0) {
		n = chunk < st->sock.max_frame_len ? chunk :
						     st->sock.max_frame_len;
		error = emit(st, op_index, type, n, src, src_off);
		if (error != 0)
			return (error);
		chunk -= n;
		src_off += n;
	}
	return (0);
}

/*
 * write(2) and sendmsg(2), after sys/kern/uipc_socket.c sosend_generic().
 * Each pass of the outer loop samples sbspace(); the writer sleeps while
 * space < resid and the send is atomic (TLS_SET_RECORD_TYPE) or space is
 * below sb_lowat.  Otherwise it copies min(resid, space) bytes, cut into
 * records.
 */
static int
run_write(struct gstate *st, const struct golden_op *op, size_t op_index)
{
	struct gspace sp = { op->space, op->nspace, 0 };
	long long resid, space, chunk;
	uint64_t done;
	uint8_t type;
	bool atomic;
	int error;

	atomic = op->kind == GOLDEN_CONTROL;
	type = atomic ? op->type : TLS_RLTYPE_APP;
	resid = (long long)op->len;
	done = 0;

	/* Checked before any waiting, as sosend_generic() does. */
	if (resid == 0 && !golden_permit_empty(st->suite))
		return (EINVAL);

	for (;;) {
		space = space_next(&sp);
		/* An atomic send must fit the whole buffer (EMSGSIZE). */
		if (atomic && resid > st->sock.sb_hiwat)
			return (EMSGSIZE);
		/*
		 * Wait for space.  The "space <= 0" term only matters with
		 * sb_lowat <= 0, where the kernel would copy nothing; the
		 * model waits instead (README, "Not modelled").
		 */
		if (space < resid &&
		    (atomic || space < st->sock.sb_lowat || space <= 0))
			continue;
		chunk = resid < space ? resid : space;
		error = emit_chunk(st, op_index, type, (size_t)chunk,
		    GOLDEN_SRC_USER, done);
		if (error != 0)
			return (error);
		resid -= chunk;
		done += (uint64_t)chunk;
		/* Only the first chunk carries the cmsg's type. */
		type = TLS_RLTYPE_APP;
		if (resid == 0)
			return (0);
	}
}

/*
 * Emit the records of the file range [off, off + len) of one vn_sendfile
 * loop iteration.  The pages of the range are packed into M_EXTPG mbufs of
 * at most max_pgs pages, starting afresh with the first page of the range;
 * each mbuf is one record.  So record boundaries sit at
 * trunc_page(off) + k * max_pgs * PAGE_SIZE.
 */
static int
emit_file(struct gstate *st, size_t op_index, uint64_t off, uint64_t len)
{
	uint64_t base, group, pos, end, bound;
	size_t max_pgs;
	int error;

	max_pgs =
	    (st->sock.max_frame_len + GOLDEN_PAGE_SIZE - 1) / GOLDEN_PAGE_SIZE;
	group = (uint64_t)max_pgs * GOLDEN_PAGE_SIZE;
	base = off & ~PG_MASK;
	end = off + len;
	for (pos = off; pos < end; pos = bound) {
		bound = base + ((pos - base) / group + 1) * group;
		if (bound > end)
			bound = end;
		error = emit(st, op_index, TLS_RLTYPE_APP,
		    (size_t)(bound - pos), GOLDEN_SRC_FILE, pos);
		if (error != 0)
			return (error);
	}
	return (0);
}

/*
 * sendfile(2), after vn_sendfile and sendfile_wait_generic (README).
 */
static int
run_sendfile(struct gstate *st, const struct golden_op *op, size_t op_index)
{
	struct gspace sp = { op->space, op->nspace, 0 };
	long long rem, space, h, hdr_rem, pgoff;
	uint64_t off, hdr_done;
	int error;

	rem = (long long)op->len;
	off = op->file_off;
	hdr_rem = (long long)op->hdr_len;
	hdr_done = 0;

	/*
	 * The loop runs only while file bytes remain, and headers are
	 * copied inside it: with nothing to send from the file no header
	 * record is sent either.
	 */
	while (rem > 0) {
		/*
		 * sendfile_wait_generic: the SB_AUTOLOWAT hack raises
		 * sb_lowat for this and every later call on the socket.
		 */
		if (st->sock.autolowat) {
			if (st->sock.sb_lowat < st->sock.sb_hiwat / 2)
				st->sock.sb_lowat = st->sock.sb_hiwat / 2;
			if (st->sock.sb_lowat < GOLDEN_PAGE_SIZE &&
			    st->sock.sb_hiwat >= GOLDEN_PAGE_SIZE)
				st->sock.sb_lowat = GOLDEN_PAGE_SIZE;
		}
		space = space_next(&sp);
		/* Wait unless all of rem fits or space reaches lowat. */
		if (space < rem && (space <= 0 || space < st->sock.sb_lowat))
			continue;

		/* Headers first, limited by space, own records. */
		if (hdr_rem > 0) {
			h = hdr_rem < space ? hdr_rem : space;
			error = emit_chunk(st, op_index, TLS_RLTYPE_APP,
			    (size_t)h, GOLDEN_SRC_HDR, hdr_done);
			if (error != 0)
				return (error);
			hdr_rem -= h;
			hdr_done += (uint64_t)h;
			space -= h;
			/* Headers took all the space: no file pages. */
			if (space == 0)
				continue;
		}

		/*
		 * Clip to rem; otherwise, for more than a page, end the
		 * chunk on a page boundary of the file.  A space of at
		 * most one page is used as it is.
		 */
		pgoff = (long long)(off & PG_MASK);
		if (space > rem)
			space = rem;
		else if (space > GOLDEN_PAGE_SIZE) {
			if (pgoff != 0)
				space -= GOLDEN_PAGE_SIZE - pgoff;
			space &= ~(long long)PG_MASK;
			if (pgoff != 0)
				space += GOLDEN_PAGE_SIZE - pgoff;
		}

		error = emit_file(st, op_index, off, (uint64_t)space);
		if (error != 0)
			return (error);
		off += (uint64_t)space;
		rem -= space;
	}
	return (0);
}

int
golden_run_sock(const struct golden_suite *suite,
    const struct golden_sock *sock, uint64_t initial_seq,
    const struct golden_op *ops, size_t nops, struct golden_record **out,
    size_t *nout)
{
	struct gstate st;
	size_t i;
	int error;

	*out = NULL;
	*nout = 0;
	if (!suite_valid(suite) || sock->max_frame_len == 0 ||
	    sock->max_frame_len > TLS_MAX_MSG_SIZE_V10_2)
		return (EINVAL);

	memset(&st, 0, sizeof(st));
	st.suite = suite;
	st.sock = *sock;
	st.seq = initial_seq;
	error = 0;
	for (i = 0; i < nops && error == 0; i++) {
		switch (ops[i].kind) {
		case GOLDEN_WRITE:
		case GOLDEN_CONTROL:
			error = run_write(&st, &ops[i], i);
			break;
		case GOLDEN_SENDFILE:
			error = run_sendfile(&st, &ops[i], i);
			break;
		default:
			error = EINVAL;
			break;
		}
	}
	*out = st.recs;
	*nout = st.nrecs;
	return (error);
}

int
golden_run(const struct golden_suite *suite, uint64_t initial_seq,
    size_t max_frame_len, long sb_lowat, long sb_hiwat,
    const struct golden_op *ops, size_t nops, struct golden_record **out,
    size_t *nout)
{
	struct golden_sock sock = {
		.max_frame_len = max_frame_len,
		.sb_hiwat = sb_hiwat,
		.sb_lowat = sb_lowat,
		.autolowat = true,
	};

	return (
	    golden_run_sock(suite, &sock, initial_seq, ops, nops, out, nout));
}

void
golden_free(struct golden_record *recs)
{

	free(recs);
}
