/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * mbuf allocation, chains and unmapped (M_EXTPG) mbufs.  Models the parts
 * of sys/kern/uipc_mbuf.c and sys/kern/kern_mbuf.c that the KTLS transmit
 * path uses: mb_alloc_ext_pgs(), mb_free_extpg(), mb_free_notready(),
 * m_uiotombuf_nomap(), m_copydata(), m_length(), the shared external
 * storage of mb_dupcl()/m_copym() and the send tags of m_snd_tag_init().
 */

#include "net/if_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"

u_int
m_epg_datalen(const struct mbuf *m)
{

	if (m->m_epg_npgs == 0)
		return (0);
	if (m->m_epg_npgs == 1)
		return (m->m_epg_last_len);
	return (PAGE_SIZE - m->m_epg_1st_off + (m->m_epg_npgs - 2) * PAGE_SIZE +
	    m->m_epg_last_len);
}

static void
m_ext_free_buf(struct mbuf *m)
{

	kfree(m->m_ext.ext_buf);
}

/* m_get(): an mbuf without storage (SIM: no inline data area). */
struct mbuf *
m_get(int how, short type)
{

	(void)type;
	return (kmalloc(sizeof(struct mbuf), how | M_ZERO));
}

/* The storage's reference count starts at one, held by the mbuf itself. */
static void
m_ext_init_ref(struct mbuf *m)
{

	m->m_ext.ext_count = 1;
	m->m_ext.ext_flags = EXT_FLAG_EMBREF;
}

struct mbuf *
m_get_ext(size_t size, int how)
{
	struct mbuf *m;

	m = m_get(how, MT_DATA);
	if (m == NULL)
		return (NULL);
	m->m_ext.ext_buf = kmalloc(size > 0 ? size : 1, how);
	if (m->m_ext.ext_buf == NULL) {
		kfree(m);
		return (NULL);
	}
	m->m_ext.ext_size = size;
	m->m_ext.ext_free = m_ext_free_buf;
	m_ext_init_ref(m);
	m->m_flags = M_EXT;
	m->m_data = m->m_ext.ext_buf;
	return (m);
}

int
m_pkthdr_init(struct mbuf *m, int how)
{

	(void)how;
	memset(&m->m_pkthdr, 0, sizeof(m->m_pkthdr));
	m->m_flags |= M_PKTHDR;
	return (0);
}

/*
 * The count that m's storage is referenced by, and the mbuf that holds it
 * (kern_mbuf.c mb_free_ext()).
 */
static volatile u_int *
m_ext_refcnt(struct mbuf *m, struct mbuf **mrefp)
{

	if (m->m_ext.ext_flags & EXT_FLAG_EMBREF) {
		*mrefp = m;
		return (&m->m_ext.ext_count);
	}
	KASSERT(m->m_ext.ext_cnt != NULL, ("no refcounting for %p", (void *)m));
	*mrefp = __containerof(m->m_ext.ext_cnt, struct mbuf, m_ext.ext_count);
	return (m->m_ext.ext_cnt);
}

/*
 * mb_dupcl(): n takes a reference on m's storage.  For M_EXTPG the page
 * array, header and trailer live in the mbuf itself and are copied; they
 * no longer change once the data is ready, which is all TCP copies
 * (sys/kern/uipc_mbuf.c mb_dupcl()).
 */
void
mb_dupcl(struct mbuf *n, struct mbuf *m)
{
	volatile u_int *refcnt;
	struct mbuf *mref;

	KASSERT(m->m_flags & (M_EXT | M_EXTPG),
	    ("mb_dupcl: %p not M_EXT", (void *)m));
	KASSERT((n->m_flags & (M_EXT | M_EXTPG)) == 0,
	    ("mb_dupcl: %p already has storage", (void *)n));
	if (m->m_flags & M_EXTPG) {
		memcpy(&n->m_epg_off, &m->m_epg_off,
		    sizeof(*m) - offsetof(struct mbuf, m_epg_off));
		n->m_epg_so = NULL;
		n->m_epg_enc_cnt = 0;
	}
	n->m_ext = m->m_ext;
	n->m_flags |= m->m_flags & (M_RDONLY | M_EXT | M_EXTPG);
	refcnt = m_ext_refcnt(m, &mref);
	n->m_ext.ext_cnt = refcnt;
	n->m_ext.ext_flags &= ~EXT_FLAG_EMBREF;
	refcount_acquire(refcnt);
}

/*
 * m_copym(): the copy shares every byte with the original: plain mbufs
 * through m_data, M_EXTPG ones through m_epg_off and m_len.  The copy's
 * first mbuf gets a packet header if the original's had one.
 */
struct mbuf *
m_copym(struct mbuf *m, int off, int len, int how)
{
	struct mbuf *top, **np, *n;
	bool copyhdr;

	KASSERT(off >= 0 && len >= 0, ("m_copym: off %d len %d", off, len));
	copyhdr = off == 0 && (m->m_flags & M_PKTHDR) != 0;
	while (off > 0 && off >= m->m_len) {
		off -= m->m_len;
		m = m->m_next;
		KASSERT(m != NULL, ("m_copym: offset past the chain"));
	}
	top = NULL;
	np = &top;
	while (len > 0 && m != NULL) {
		n = m_get(how, MT_DATA);
		if (n == NULL)
			goto nospace;
		*np = n;
		if (copyhdr) {
			n->m_flags |= M_PKTHDR;
			n->m_pkthdr = m->m_pkthdr;
			n->m_pkthdr.csum_flags &= ~CSUM_SND_TAG;
			n->m_pkthdr.snd_tag = NULL;
			if (m->m_pkthdr.csum_flags & CSUM_SND_TAG) {
				n->m_pkthdr.snd_tag =
				    m_snd_tag_ref(m->m_pkthdr.snd_tag);
				n->m_pkthdr.csum_flags |= CSUM_SND_TAG;
			}
			if (len != M_COPYALL)
				n->m_pkthdr.len = len;
			copyhdr = false;
		}
		n->m_len = min(len, m->m_len - off);
		KASSERT(m->m_flags & (M_EXT | M_EXTPG),
		    ("m_copym: %p has no storage", (void *)m));
		mb_dupcl(n, m);
		if (m->m_flags & M_EXTPG)
			n->m_epg_off += off;
		else
			n->m_data = m->m_data + off;
		if (len != M_COPYALL)
			len -= n->m_len;
		off = 0;
		m = m->m_next;
		np = &n->m_next;
	}
	KASSERT(len == 0 || len == M_COPYALL, ("m_copym: chain too short"));
	return (top);
nospace:
	m_freem(top);
	return (NULL);
}

/*
 * mb_free_ext(): a plain mbuf's storage goes with its last reference.  The
 * mbuf holding the count lives on until then, whoever was freed first.
 */
static void
mb_free_ext(struct mbuf *m)
{
	volatile u_int *refcnt;
	struct mbuf *mref;

	refcnt = m_ext_refcnt(m, &mref);
	if (refcount_release(refcnt)) {
		if (mref->m_ext.ext_free != NULL)
			mref->m_ext.ext_free(mref);
		if (mref != m)
			kfree(mref);
		kfree(m);
	} else if (mref != m)
		kfree(m);
}

/* Default ext_free of anonymous M_EXTPG mbufs: drop every page. */
void
mb_free_mext_pgs(struct mbuf *m)
{

	vm_page_release_npages_sim(m->m_epg_pa, m->m_epg_npgs);
	for (int i = 0; i < m->m_epg_npgs; i++)
		m->m_epg_pa[i] = NULL;
}

/*
 * mb_alloc_ext_pgs(): flags is M_RDONLY for pages the caller must not
 * write (sendfile's page-cache pages); anonymous pages stay writable until
 * ktls_encrypt() has encrypted them in place (kern_mbuf.c).
 */
struct mbuf *
mb_alloc_ext_pgs(int how, m_ext_free_t *ext_free, int flags)
{
	struct mbuf *m;

	m = m_get(how, MT_DATA);
	if (m == NULL)
		return (NULL);
	m->m_flags = M_EXT | M_EXTPG | flags;
	m->m_ext.ext_free = ext_free != NULL ? ext_free : mb_free_mext_pgs;
	m_ext_init_ref(m);
	return (m);
}

/*
 * mb_free_extpg(): with the last reference to the storage the pages are
 * released, then the session reference: refcount_release_if_not_last()
 * drops it unless it is the last one, in which case the mbuf goes to the
 * session's worker so that ktls_destroy() runs there
 * (sys/kern/kern_mbuf.c mb_free_extpg()).  A copy (mb_dupcl()) holds no
 * session reference of its own.
 */
void
mb_free_extpg(struct mbuf *m)
{
	struct ktls_session *tls;
	volatile u_int *refcnt;
	struct mbuf *mref;

	MPASS(m->m_flags & M_EXTPG);
	refcnt = m_ext_refcnt(m, &mref);
	if (!refcount_release(refcnt)) {
		if (mref != m)
			kfree(m);
		return;
	}
	if (mref != m)
		kfree(m);
	if (mref->m_ext.ext_free != NULL)
		mref->m_ext.ext_free(mref);
	mref->m_ext.ext_free = NULL;
	mref->m_epg_npgs = 0;
	tls = mref->m_epg_tls;
	if (tls != NULL && !refcount_release_if_not_last(&tls->refcount)) {
		ktls_enqueue_to_free(mref);
		return;
	}
	kfree(mref);
}

/* m_free(): a packet header's send tag reference goes with it. */
struct mbuf *
m_free(struct mbuf *m)
{
	struct mbuf *n;

	n = m->m_next;
	if ((m->m_flags & M_PKTHDR) &&
	    (m->m_pkthdr.csum_flags & CSUM_SND_TAG)) {
		m->m_pkthdr.csum_flags &= ~CSUM_SND_TAG;
		m_snd_tag_rele(m->m_pkthdr.snd_tag);
	}
	if (m->m_flags & M_EXTPG)
		mb_free_extpg(m);
	else if (m->m_flags & M_EXT)
		mb_free_ext(m);
	else
		kfree(m);
	return (n);
}

/*
 * m_snd_tag_init(): a new send tag holds its interface; its one reference
 * belongs to the caller (sys/kern/uipc_mbuf.c).
 */
void
m_snd_tag_init(struct m_snd_tag *mst, struct ifnet *ifp,
    const struct if_snd_tag_sw *sw)
{

	if_ref(ifp);
	mst->ifp = ifp;
	mst->sw = sw;
	refcount_init(&mst->refcount, 1);
}

/* The last reference went: the driver frees the tag, then the ifnet. */
void
m_snd_tag_destroy(struct m_snd_tag *mst)
{
	struct ifnet *ifp;

	ifp = mst->ifp;
	mst->sw->snd_tag_free(mst);
	if_rele(ifp);
}

void
m_freem(struct mbuf *m)
{

	while (m != NULL)
		m = m_free(m);
}

/*
 * mb_free_notready(): error-path helper that consumes 'count' not-ready
 * units (pages of M_EXTPG mbufs, else whole mbufs), freeing each mbuf whose
 * units reach zero (kern_mbuf.c).
 */
void
mb_free_notready(struct mbuf *m, int count)
{
	struct mbuf *n;

	while (m != NULL && count > 0) {
		if ((m->m_flags & M_EXTPG) && m->m_epg_npgs != 0) {
			int c = min(count, (int)m->m_epg_nrdy);

			m->m_epg_nrdy -= c;
			count -= c;
			if (m->m_epg_nrdy != 0)
				return;
		} else
			count--;
		/*
		 * SIM: past the last unit m_next may belong to newer data,
		 * appended under a lock this caller does not hold; FreeBSD's
		 * m = m_free(m) reads it anyway (see ktls_encrypt()).
		 */
		n = count > 0 ? m->m_next : NULL;
		m_free(m);
		m = n;
	}
}

u_int
m_length(struct mbuf *m, struct mbuf **last)
{
	u_int len;

	len = 0;
	for (; m != NULL; m = m->m_next) {
		len += m->m_len;
		if (last != NULL)
			*last = m;
	}
	return (len);
}

/*
 * Visit the bytes [off, off + len) of one mbuf as contiguous runs: for an
 * M_EXTPG mbuf the header array, each page and the trailer array.
 */
typedef void m_run_fn(void *arg, const uint8_t *p, u_int n);

static void
m_epg_runs(const struct mbuf *m, u_int off, u_int len, m_run_fn *fn, void *arg)
{
	u_int n, pgoff, pglen;

	off += m->m_epg_off;
	if (off < m->m_epg_hdrlen && len > 0) {
		n = min(len, m->m_epg_hdrlen - off);
		fn(arg, m->m_epg_hdr + off, n);
		len -= n;
		off = m->m_epg_hdrlen;
	}
	off -= m->m_epg_hdrlen;
	pgoff = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs && len > 0; i++) {
		pglen = m_epg_pagelen(m, i, pgoff);
		if (off < pglen) {
			n = min(len, pglen - off);
			fn(arg, vm_page_data(m->m_epg_pa[i]) + pgoff + off, n);
			len -= n;
			off = 0;
		} else
			off -= pglen;
		pgoff = 0;
	}
	if (len > 0) {
		KASSERT(off + len <= m->m_epg_trllen,
		    ("m_epg_runs: %u + %u past trailer %u", off, len,
			m->m_epg_trllen));
		fn(arg, m->m_epg_trail + off, len);
	}
}

struct copy_arg {
	uint8_t *dst;
};

static void
copy_run(void *arg, const uint8_t *p, u_int n)
{
	struct copy_arg *ca = arg;

	memcpy(ca->dst, p, n);
	ca->dst += n;
}

void
m_copydata(const struct mbuf *m, int off, int len, void *cp)
{
	struct copy_arg ca = { cp };
	u_int n;

	KASSERT(off >= 0 && len >= 0, ("m_copydata: off %d len %d", off, len));
	while (m != NULL && off >= m->m_len) {
		off -= m->m_len;
		m = m->m_next;
	}
	while (len > 0) {
		KASSERT(m != NULL, ("m_copydata: chain too short"));
		n = min(m->m_len - off, len);
		if (m->m_flags & M_EXTPG)
			m_epg_runs(m, off, n, copy_run, &ca);
		else
			copy_run(&ca, (const uint8_t *)m->m_data + off, n);
		len -= n;
		off = 0;
		m = m->m_next;
	}
}

struct iov_arg {
	struct iovec *iov;
	int n, max;
};

static void
iov_run(void *arg, const uint8_t *p, u_int n)
{
	struct iov_arg *ia = arg;

	if (n == 0 || ia->n >= ia->max)
		return;
	ia->iov[ia->n].iov_base = (void *)(uintptr_t)p;
	ia->iov[ia->n].iov_len = n;
	ia->n++;
}

int
m_to_iovec(const struct mbuf *m, int off, int len, struct iovec *iov,
    int maxiov)
{
	struct iov_arg ia = { iov, 0, maxiov };

	KASSERT(off + len <= m->m_len, ("m_to_iovec: past m_len"));
	if (m->m_flags & M_EXTPG)
		m_epg_runs(m, off, len, iov_run, &ia);
	else
		iov_run(&ia, (const uint8_t *)m->m_data + off, len);
	return (ia.n);
}

/* An M_EXTPG mbuf is at most header, pages and trailer: that many runs. */
int
m_chain_iovmax(const struct mbuf *m, int off, int len)
{
	int n;

	for (; m != NULL && off >= m->m_len; m = m->m_next)
		off -= m->m_len;
	for (n = 0; m != NULL && len > 0; m = m->m_next) {
		n += (m->m_flags & M_EXTPG) ? m->m_epg_npgs + 2 : 1;
		len -= m->m_len - off;
		off = 0;
	}
	return (n);
}

int
m_chain_to_iovec(const struct mbuf *m, int off, int len, struct iovec *iov,
    int maxiov)
{
	int cnt, n;

	while (m != NULL && off >= m->m_len) {
		off -= m->m_len;
		m = m->m_next;
	}
	for (cnt = 0; m != NULL && len > 0 && cnt < maxiov; m = m->m_next) {
		n = min(len, m->m_len - off);
		if (n > 0)
			cnt += m_to_iovec(m, off, n, iov + cnt, maxiov - cnt);
		len -= n;
		off = 0;
	}
	KASSERT(len == 0, ("m_chain_to_iovec: %d bytes left over", len));
	return (cnt);
}

int
uiomove(void *cp, int n, struct uio *uio)
{
	struct iovec *iov;
	size_t cnt;
	uint8_t *p = cp;

	while (n > 0 && uio->uio_resid > 0) {
		iov = uio->uio_iov;
		cnt = iov->iov_len;
		if (cnt == 0) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
			continue;
		}
		if (cnt > (size_t)n)
			cnt = n;
		if (uio->uio_rw == UIO_WRITE) {
			memcpy(p, iov->iov_base, cnt);
			counter_u64_add(ksim_copyin_bytes, cnt);
		} else {
			memcpy(iov->iov_base, p, cnt);
			counter_u64_add(ksim_copyout_bytes, cnt);
		}
		iov->iov_base = (char *)iov->iov_base + cnt;
		iov->iov_len -= cnt;
		uio->uio_resid -= cnt;
		uio->uio_offset += cnt;
		p += cnt;
		n -= cnt;
	}
	return (0);
}

/*
 * m_uiotombuf_nomap(): copy min(resid, len) bytes into freshly allocated
 * anonymous pages, one M_EXTPG mbuf per maxseg bytes, each starting at page
 * offset 0.  With nothing to copy it returns one empty mbuf: the TLS 1.0
 * empty-fragment record.
 */
static struct mbuf *
m_uiotombuf_nomap(struct uio *uio, int how, int len, int maxseg, int flags)
{
	struct mbuf *m, *mb, *prev;
	struct vm_page *pg;
	ssize_t total;
	int needed, pglen;

	MPASS(maxseg > 0);
	total = len > 0 ? min(uio->uio_resid, (ssize_t)len) : uio->uio_resid;
	m = prev = NULL;
	do {
		mb = mb_alloc_ext_pgs(how, mb_free_mext_pgs, 0);
		if (mb == NULL)
			goto failed;
		mb->m_epg_flags = EPG_FLAG_ANON;
		if (prev == NULL)
			m = mb;
		else
			prev->m_next = mb;
		prev = mb;
		needed = min(total, (ssize_t)maxseg);
		total -= needed;
		while (needed > 0) {
			pg = vm_page_alloc_sim();
			pglen = min(needed, PAGE_SIZE);
			uiomove(vm_page_data(pg), pglen, uio);
			mb->m_epg_pa[mb->m_epg_npgs++] = pg;
			mb->m_epg_last_len = pglen;
			mb->m_len += pglen;
			needed -= pglen;
		}
		mb->m_ext.ext_size = mb->m_epg_npgs * PAGE_SIZE;
	} while (total > 0);
	if (flags & M_EOR)
		prev->m_flags |= M_EOR;
	return (m);
failed:
	m_freem(m);
	return (NULL);
}

/*
 * m_uiotombuf(): only the shapes the socket layer needs.  Plain data goes
 * into one mbuf with malloc'd storage (SIM: FreeBSD uses clusters).
 */
struct mbuf *
m_uiotombuf(struct uio *uio, int how, int len, int maxseg, int flags)
{
	struct mbuf *m;
	ssize_t total;

	if (flags & M_EXTPG)
		return (m_uiotombuf_nomap(uio, how, len, maxseg, flags));
	total = len > 0 ? min(uio->uio_resid, (ssize_t)len) : uio->uio_resid;
	m = m_get_ext(total, how);
	if (m == NULL)
		return (NULL);
	uiomove(m->m_data, total, uio);
	m->m_len = total;
	if (flags & M_EOR)
		m->m_flags |= M_EOR;
	return (m);
}

/*
 * m_chain_check(): the invariants of every mbuf in a chain.  For M_EXTPG:
 * m_len equals what header, pages and trailer hold minus what was trimmed
 * from the front; header and trailer fit their arrays; nrdy <= npgs (or 1
 * for an empty record); M_NOTREADY set iff units are outstanding.
 */
int
m_chain_check_one(const struct mbuf *m)
{
	u_int full;

	if (m->m_len < 0)
		goto bad;
	if ((m->m_flags & M_EXTPG) == 0)
		return (0);
	if (m->m_epg_hdrlen > MBUF_PEXT_HDR_LEN ||
	    m->m_epg_trllen > MBUF_PEXT_TRAIL_LEN ||
	    m->m_epg_npgs > MBUF_PEXT_MAX_PGS)
		goto bad;
	full = m->m_epg_hdrlen + m_epg_datalen(m) + m->m_epg_trllen;
	/* Only a copy (mb_dupcl()) may end before its storage does. */
	if (m->m_epg_off + m->m_len > full ||
	    ((m->m_ext.ext_flags & EXT_FLAG_EMBREF) &&
		m->m_epg_off + m->m_len != full))
		goto bad;
	if (m->m_epg_npgs > 0 && m->m_epg_nrdy > m->m_epg_npgs)
		goto bad;
	if (m->m_epg_npgs == 0 && m->m_epg_nrdy > 1)
		goto bad;
	if ((m->m_epg_nrdy != 0) != ((m->m_flags & M_NOTREADY) != 0))
		goto bad;
	for (int i = 0; i < m->m_epg_npgs; i++)
		if (m->m_epg_pa[i] == NULL)
			goto bad;
	return (0);
bad:
	fprintf(stderr,
	    "m_chain_check: bad mbuf %p flags %#x len %d off %u hdr %u "
	    "trl %u npgs %u nrdy %u\n",
	    (const void *)m, m->m_flags, m->m_len, m->m_epg_off,
	    m->m_epg_hdrlen, m->m_epg_trllen, m->m_epg_npgs, m->m_epg_nrdy);
	KASSERT(0, ("m_chain_check failed"));
	return (EDOOFUS);
}

int
m_chain_check(const struct mbuf *m)
{
	int error;

	for (; m != NULL; m = m->m_next)
		if ((error = m_chain_check_one(m)) != 0)
			return (error);
	return (0);
}
