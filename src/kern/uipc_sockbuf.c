/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Send-buffer accounting with not-ready data.  Models sbreserve_locked(),
 * sballoc(), sbfree(), sbappendstream_locked(), sbready(), sbdrop_locked()
 * and the SBCHECK invariant checker of sys/kern/uipc_sockbuf.c.
 *
 * sb_ccc counts every byte queued; sb_acc only the prefix before the first
 * not-ready mbuf (sb_fnrdy), which is all TCP may transmit.  A ready mbuf
 * queued behind a not-ready one carries M_BLOCKED until the blocker
 * becomes ready.  sb_mbcnt counts the memory behind those bytes, which
 * sbspace() holds to sb_mbmax: many small records run out of mbuf memory
 * long before they run out of bytes.  Under INVARIANTS every function here
 * that changes the buffer ends with SBCHECK() (sys/sockbuf.h).
 */

#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/sockbuf.h"
#include "sys/ktls_trace.h"
#include "sys/socketvar.h"

/*
 * sb_max limits any one buffer; sb_max_adj is what is left of it for data
 * once every standard cluster's mbuf is counted; sb_efficiency scales a
 * buffer's byte limit into its mbuf-memory limit.
 */
#define BUF_MAX_ADJ(_sz) ((uint64_t)(_sz)*MCLBYTES / (MSIZE + MCLBYTES))

u_long sb_max = SB_MAX;
u_long sb_max_adj = BUF_MAX_ADJ(SB_MAX);
static u_long sb_efficiency = 8;

int
sysctl_handle_sb_max(u_long val)
{

	if (val < MSIZE + MCLBYTES)
		return (EINVAL);
	sb_max = val;
	sb_max_adj = BUF_MAX_ADJ(val);
	return (0);
}

/*
 * sbreserve_locked(): set the send buffer's byte limit and scale its mbuf
 * memory limit with it, so that mbufs do not bind while they are used
 * about as efficiently as clusters.  SIM: no RLIMIT_SBSIZE accounting.
 */
bool
sbreserve_locked(struct socket *so, u_long cc)
{
	struct sockbuf *sb = &so->so_snd;

	SOCKBUF_LOCK_ASSERT(sb);
	if (cc > sb_max_adj)
		return (false);
	sb->sb_hiwat = cc;
	sb->sb_mbmax = min(cc * sb_efficiency, sb_max);
	if (sb->sb_lowat > sb->sb_hiwat)
		sb->sb_lowat = sb->sb_hiwat;
	return (true);
}

/*
 * sballoc(): besides the bytes, charge the mbuf itself and its external
 * storage: a cluster's size for plain mbufs, a whole page per page for
 * M_EXTPG ones (m_uiotombuf_nomap() and vn_sendfile() add PAGE_SIZE to
 * ext_size for each page they attach).
 */
static void
sballoc(struct sockbuf *sb, struct mbuf *m)
{

	sb->sb_ccc += m->m_len;
	if (sb->sb_fnrdy == NULL) {
		if (m->m_flags & M_NOTREADY)
			sb->sb_fnrdy = m;
		else
			sb->sb_acc += m->m_len;
	} else
		m->m_flags |= M_BLOCKED;
	sb->sb_mbcnt += MSIZE;
	if (m->m_flags & M_EXT)
		sb->sb_mbcnt += m->m_ext.ext_size;
}

/*
 * sbfree(): only ready data is ever dropped by TCP, but a flush may remove
 * the blocker itself, in which case the ready mbufs behind it become
 * available.
 */
static void
sbfree(struct sockbuf *sb, struct mbuf *m)
{

	sb->sb_ccc -= m->m_len;
	if ((m->m_flags & M_NOTAVAIL) == 0)
		sb->sb_acc -= m->m_len;
	if (m == sb->sb_fnrdy) {
		struct mbuf *n;

		for (n = m->m_next; n != NULL && (n->m_flags & M_NOTREADY) == 0;
		     n = n->m_next) {
			n->m_flags &= ~M_BLOCKED;
			sb->sb_acc += n->m_len;
		}
		sb->sb_fnrdy = n;
	}
	sb->sb_mbcnt -= MSIZE;
	if (m->m_flags & M_EXT)
		sb->sb_mbcnt -= m->m_ext.ext_size;
}

/*
 * sbappendstream_locked(): append a chain to the send buffer.  With a TLS
 * session, ktls_seq() numbers the records now, in buffer order, before
 * any of them is encrypted.  Like sbcompress(), it frees empty mbufs (the
 * chain of a zero-length write) instead of queueing them; a framed record
 * is never empty.
 */
void
sbappendstream_locked(struct sockbuf *sb, struct mbuf *m, int flags)
{
	struct mbuf *n;

	SOCKBUF_LOCK_ASSERT(sb);
	(void)flags;
	if (sb->sb_tls_info != NULL)
		ktls_seq(sb, m);
	for (; m != NULL; m = n) {
		n = m->m_next;
		m->m_next = NULL;
		if (m->m_len == 0) {
			KASSERT((m->m_flags & M_NOTREADY) == 0,
			    ("sbappendstream: empty not-ready mbuf %p",
				(void *)m));
			m_free(m);
			continue;
		}
		if (sb->sb_mbtail != NULL)
			sb->sb_mbtail->m_next = m;
		else
			sb->sb_mb = m;
		sb->sb_mbtail = m;
		sballoc(sb, m);
	}
	SBCHECK(sb);
}

/*
 * sbready(): 'count' units of the chain starting at m0 completed (pages of
 * an M_EXTPG mbuf with pages, else one per mbuf).  Only when m0 was the
 * first not-ready mbuf does anything become available to TCP; then the
 * ready run behind it is unblocked too.  Returns EINPROGRESS when the data
 * stays blocked (an out-of-order completion).
 */
int
sbready(struct sockbuf *sb, struct mbuf *m0, int count)
{
	struct mbuf *m;
	int blocker;

	SOCKBUF_LOCK_ASSERT(sb);
	KASSERT(sb->sb_fnrdy != NULL,
	    ("sbready: sb %p has no not-ready data", (void *)sb));
	KASSERT(count > 0, ("sbready: count %d", count));
	blocker = (sb->sb_fnrdy == m0) ? M_BLOCKED : 0;
	m = m0;
	do {
		KASSERT(m != NULL && (m->m_flags & M_NOTREADY),
		    ("sbready: mbuf %p is ready", (void *)m));
		if ((m->m_flags & M_EXTPG) && m->m_epg_npgs != 0) {
			if (count < m->m_epg_nrdy) {
				/* Partially done: still not ready. */
				m->m_epg_nrdy -= count;
				count = 0;
				break;
			}
			count -= m->m_epg_nrdy;
		} else
			count--;
		if (m->m_flags & M_EXTPG)
			m->m_epg_nrdy = 0;
		m->m_flags &= ~(M_NOTREADY | blocker);
		if (blocker) {
			sb->sb_acc += m->m_len;
			KTLS_TRACE_RECORD(KTR_READY, sbtoso(sb), m);
		}
		m = m->m_next;
	} while (count > 0);

	/* An out-of-order completion, or m0 itself only partly done. */
	if (!blocker || m == m0) {
		SBCHECK(sb);
		return (EINPROGRESS);
	}

	for (; m != NULL && (m->m_flags & M_NOTREADY) == 0; m = m->m_next) {
		m->m_flags &= ~M_BLOCKED;
		sb->sb_acc += m->m_len;
		KTLS_TRACE_RECORD(KTR_READY, sbtoso(sb), m);
	}
	sb->sb_fnrdy = m;
	SBCHECK(sb);
	return (0);
}

/*
 * sbdrop_locked(): remove len bytes of ready data from the front (TCP got
 * them acknowledged).  A partly dropped mbuf keeps its tail: plain mbufs
 * advance m_data, M_EXTPG mbufs m_epg_off.
 */
void
sbdrop_locked(struct sockbuf *sb, int len)
{
	struct mbuf *m;

	SOCKBUF_LOCK_ASSERT(sb);
	KASSERT((u_int)len <= sb->sb_acc,
	    ("sbdrop: %d > acc %u", len, sb->sb_acc));
	while (len > 0) {
		m = sb->sb_mb;
		MPASS(m != NULL && (m->m_flags & M_NOTAVAIL) == 0);
		if (m->m_len > len) {
			m->m_len -= len;
			if (m->m_flags & M_EXTPG)
				m->m_epg_off += len;
			else
				m->m_data += len;
			sb->sb_ccc -= len;
			sb->sb_acc -= len;
			SBCHECK(sb);
			return;
		}
		len -= m->m_len;
		sbfree(sb, m);
		sb->sb_mb = m->m_next;
		if (sb->sb_mb == NULL)
			sb->sb_mbtail = NULL;
		m_free(m);
	}
	/* Zero-length records (TLS 1.0 empty fragments) at the front. */
	while ((m = sb->sb_mb) != NULL && m->m_len == 0 &&
	    (m->m_flags & M_NOTAVAIL) == 0) {
		sbfree(sb, m);
		sb->sb_mb = m->m_next;
		if (sb->sb_mb == NULL)
			sb->sb_mbtail = NULL;
		m_free(m);
	}
	SBCHECK(sb);
}

/*
 * sbflush_locked(): discard everything on connection teardown.  Not-ready
 * mbufs are only unlinked: a worker or a pending disk read still owns them
 * and frees them through tcp_usr_ready() -> mb_free_notready() once it
 * sees the connection dropped (sbcut_internal()).
 */
void
sbflush_locked(struct sockbuf *sb)
{
	struct mbuf *m, *n;

	SOCKBUF_LOCK_ASSERT(sb);
	for (m = sb->sb_mb; m != NULL; m = n) {
		n = m->m_next;
		if (m->m_flags & M_NOTREADY)
			continue;
		m->m_next = NULL;
		m_free(m);
	}
	sb->sb_mb = sb->sb_mbtail = sb->sb_fnrdy = NULL;
	sb->sb_ccc = sb->sb_acc = sb->sb_mbcnt = 0;
	SBCHECK(sb);
}

int
sbcheck(struct sockbuf *sb, const char *file, int line)
{
	struct mbuf *m, *fnrdy, *last;
	u_int acc, ccc, mbcnt;

	acc = ccc = mbcnt = 0;
	fnrdy = last = NULL;
	for (m = sb->sb_mb; m != NULL; m = m->m_next) {
		if (fnrdy == NULL) {
			if (m->m_flags & M_NOTREADY)
				fnrdy = m;
			else {
				if (m->m_flags & M_BLOCKED)
					goto bad;
				acc += m->m_len;
			}
		} else if ((m->m_flags & (M_NOTREADY | M_BLOCKED)) == 0)
			goto bad;
		ccc += m->m_len;
		mbcnt += MSIZE;
		if (m->m_flags & M_EXT)
			mbcnt += m->m_ext.ext_size;
		last = m;
		/*
		 * A not-ready mbuf belongs to its worker or disk read, which
		 * may be swapping its pages right now; only its length, fixed
		 * at framing, is ours to read.
		 */
		if ((m->m_flags & M_NOTREADY) == 0 && m_chain_check_one(m) != 0)
			goto bad;
	}
	if (acc != sb->sb_acc || ccc != sb->sb_ccc || mbcnt != sb->sb_mbcnt ||
	    fnrdy != sb->sb_fnrdy || last != sb->sb_mbtail)
		goto bad;
	return (0);
bad:
	fprintf(stderr,
	    "sbcheck %s:%d: acc %u/%u ccc %u/%u mbcnt %u/%u fnrdy %p/%p "
	    "tail %p/%p\n",
	    file, line, acc, sb->sb_acc, ccc, sb->sb_ccc, mbcnt, sb->sb_mbcnt,
	    (void *)fnrdy, (void *)sb->sb_fnrdy, (void *)last,
	    (void *)sb->sb_mbtail);
	KASSERT(0, ("sbcheck failed at %s:%d", file, line));
	return (EDOOFUS);
}
