/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sendfile(2) with asynchronous page I/O.  Models vn_sendfile(),
 * sendfile_wait_generic(), sendfile_swapin() and sendfile_iodone() of
 * sys/kern/kern_sendfile.c of FreeBSD main, with
 * its fix (sendfile_iodone()) that enqueues header records together with the
 * file records when page I/O completes.
 *
 * SIM: the page cache is a small table of per-file page trees keyed by
 * (device, inode, size, mtime, ctime), so a changed file never serves stale
 * pages.  A page that is not cached is read with pread(2) by a platform
 * task after the configured delay; that task is the disk "interrupt".
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <unistd.h>

#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/sendfile_sim.h"
#include "sys/socketvar.h"

uint64_t sendfile_sim_io_delay_ns = 0;
u_int sendfile_sim_cache_pages = 16384; /* 64 MiB; 0 disables caching */

struct sf_cpage {
	RB_ENTRY(sf_cpage) link;
	TAILQ_ENTRY(sf_cpage) lru;
	struct sf_object *obj;
	uint64_t pindex;
	struct vm_page *pg;
};

struct sf_object {
	RB_HEAD(sf_ptree, sf_cpage) pages;
	u_int refs; /* the table's, and each pending pass's */
	bool dead;  /* evicted from the table: cache nothing */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	u_int npages;
};

static int
sf_cpage_cmp(struct sf_cpage *a, struct sf_cpage *b)
{

	return (a->pindex < b->pindex ? -1 : a->pindex > b->pindex);
}
RB_PROTOTYPE_STATIC(sf_ptree, sf_cpage, link, sf_cpage_cmp);
RB_GENERATE_STATIC(sf_ptree, sf_cpage, link, sf_cpage_cmp);

#define SF_NOBJECTS 64

static struct mtx sf_cache_mtx;
static pthread_once_t sf_cache_once = PTHREAD_ONCE_INIT;
static struct sf_object *sf_objects[SF_NOBJECTS];
static TAILQ_HEAD(, sf_cpage) sf_lru = TAILQ_HEAD_INITIALIZER(sf_lru);
static u_int sf_cached;

static void
sf_cache_init(void)
{

	mtx_init(&sf_cache_mtx, "sf_cache");
}

static void
sf_cpage_remove(struct sf_cpage *cp)
{

	RB_REMOVE(sf_ptree, &cp->obj->pages, cp);
	TAILQ_REMOVE(&sf_lru, cp, lru);
	cp->obj->npages--;
	sf_cached--;
	vm_page_release(cp->pg);
	kfree(cp);
}

/* Evict least recently used pages until the budget holds. */
static void
sf_cache_trim(void)
{
	struct sf_cpage *cp;

	mtx_assert(&sf_cache_mtx, MA_OWNED);
	while (sf_cached > sendfile_sim_cache_pages &&
	    (cp = TAILQ_FIRST(&sf_lru)) != NULL)
		sf_cpage_remove(cp);
}

static void
sf_object_rele(struct sf_object *obj)
{

	mtx_assert(&sf_cache_mtx, MA_OWNED);
	if (--obj->refs == 0) {
		MPASS(obj->dead && RB_EMPTY(&obj->pages));
		kfree(obj);
	}
}

/*
 * Drop an object from the table and its pages from the cache; a pass with
 * reads still pending keeps the object itself alive.
 */
static void
sf_object_evict(struct sf_object *obj)
{
	struct sf_cpage *cp, *next;

	mtx_assert(&sf_cache_mtx, MA_OWNED);
	RB_FOREACH_SAFE(cp, sf_ptree, &obj->pages, next)
		sf_cpage_remove(cp);
	obj->dead = true;
	sf_object_rele(obj);
}

static struct sf_object *
sf_object_lookup(const struct stat *st)
{
	struct sf_object *obj;
	int i, victim;

	mtx_assert(&sf_cache_mtx, MA_OWNED);
	victim = 0;
	for (i = 0; i < SF_NOBJECTS; i++) {
		obj = sf_objects[i];
		if (obj == NULL) {
			victim = i;
			continue;
		}
		if (obj->dev == st->st_dev && obj->ino == st->st_ino &&
		    obj->size == st->st_size &&
		    obj->mtime.tv_sec == st->st_mtim.tv_sec &&
		    obj->mtime.tv_nsec == st->st_mtim.tv_nsec &&
		    obj->ctime.tv_sec == st->st_ctim.tv_sec &&
		    obj->ctime.tv_nsec == st->st_ctim.tv_nsec)
			return (obj);
		if (obj->dev == st->st_dev && obj->ino == st->st_ino)
			victim = i; /* an older version of this file */
	}
	obj = sf_objects[victim];
	if (obj != NULL)
		sf_object_evict(obj);
	obj = kmalloc(sizeof(*obj), M_WAITOK | M_ZERO);
	RB_INIT(&obj->pages);
	obj->refs = 1;
	obj->dev = st->st_dev;
	obj->ino = st->st_ino;
	obj->size = st->st_size;
	obj->mtime = st->st_mtim;
	obj->ctime = st->st_ctim;
	sf_objects[victim] = obj;
	return (obj);
}

/* A cached page, held for the caller, or NULL. */
static struct vm_page *
sf_cache_get(struct sf_object *obj, uint64_t pindex)
{
	struct sf_cpage key, *cp;

	mtx_assert(&sf_cache_mtx, MA_OWNED);
	key.pindex = pindex;
	cp = RB_FIND(sf_ptree, &obj->pages, &key);
	if (cp == NULL)
		return (NULL);
	TAILQ_REMOVE(&sf_lru, cp, lru);
	TAILQ_INSERT_TAIL(&sf_lru, cp, lru);
	vm_page_hold(cp->pg);
	return (cp->pg);
}

static void
sf_cache_put(struct sf_object *obj, uint64_t pindex, struct vm_page *pg)
{
	struct sf_cpage *cp;

	mtx_assert(&sf_cache_mtx, MA_OWNED);
	if (sendfile_sim_cache_pages == 0 || obj->dead)
		return;
	cp = kmalloc(sizeof(*cp), M_WAITOK | M_ZERO);
	cp->obj = obj;
	cp->pindex = pindex;
	cp->pg = pg;
	if (RB_INSERT(sf_ptree, &obj->pages, cp) != NULL) {
		kfree(cp); /* another sendfile read it first */
		return;
	}
	vm_page_hold(pg);
	TAILQ_INSERT_TAIL(&sf_lru, cp, lru);
	obj->npages++;
	sf_cached++;
	sf_cache_trim();
}

void
sendfile_sim_cache_flush(void)
{

	pthread_once(&sf_cache_once, sf_cache_init);
	mtx_lock(&sf_cache_mtx);
	for (int i = 0; i < SF_NOBJECTS; i++) {
		struct sf_object *obj = sf_objects[i];

		if (obj == NULL)
			continue;
		sf_object_evict(obj);
		sf_objects[i] = NULL;
	}
	mtx_unlock(&sf_cache_mtx);
}

u_int
sendfile_sim_cache_resident(void)
{
	u_int n;

	pthread_once(&sf_cache_once, sf_cache_init);
	mtx_lock(&sf_cache_mtx);
	n = sf_cached;
	mtx_unlock(&sf_cache_mtx);
	return (n);
}

/*
 * struct sf_io: one pass's pending reads.  nios starts at 1 for the system
 * call itself; the last sendfile_iodone() finishes the pass.
 */
struct sf_io {
	volatile u_int nios;
	int error;
	struct socket *so;
	struct mbuf *m;	    /* first file mbuf */
	struct mbuf *tls_m; /* chain head, header records included */
	int tls_enq_cnt;
	int npages;
	struct ktls_session *tls;
	struct sf_object *obj;
	int fd;
	uint64_t pindex0;
	off_t obj_size;
	struct vm_page *pa[];
};

/* One asynchronous read of a run of pages. */
struct sf_read {
	struct sf_io *sfio;
	int first, count;
};

/*
 * The pass's file reference and cache object outlive the system call, as
 * FreeBSD's sf_io holds the VM object: the caller may close its
 * descriptor while reads are still pending.
 */
static void
sf_io_free(struct sf_io *sfio)
{

	if (sfio->fd >= 0)
		close(sfio->fd);
	mtx_lock(&sf_cache_mtx);
	sf_object_rele(sfio->obj);
	mtx_unlock(&sf_cache_mtx);
	kfree(sfio);
}

static void
sendfile_iodone(struct sf_io *sfio, int error)
{
	struct socket *so;

	if (error != 0)
		__atomic_store_n(&sfio->error, error, __ATOMIC_RELAXED);
	if (!refcount_release(&sfio->nios))
		return;

	if (sfio->m == NULL) {
		/* Nothing reached the socket (see vn_sendfile()). */
		goto out;
	}
	so = sfio->so;
	if (__predict_false(sfio->error)) {
		/*
		 * The data already in the socket can never be completed:
		 * abort the connection and free the not-ready mbufs.
		 */
		SOCKBUF_LOCK(&so->so_snd);
		tcp_drop(sototcpcb(so), EIO);
		so->so_error = EIO;
		SOCKBUF_UNLOCK(&so->so_snd);
		if (sfio->tls != NULL && sfio->tls->mode == TCP_TLS_MODE_SW)
			mb_free_notready(sfio->tls_m, sfio->tls_enq_cnt);
		else
			mb_free_notready(sfio->m, sfio->npages);
	} else if (sfio->tls != NULL && sfio->tls->mode == TCP_TLS_MODE_SW) {
		/*
		 * Encryption is not done in the disk's completion context;
		 * forward everything, header records first, to the worker,
		 * donating this pass's socket reference.
		 */
		ktls_enqueue(sfio->tls_m, so, sfio->tls_enq_cnt);
		goto out;
	} else
		(void)tcp_usr_ready(so, sfio->m, sfio->npages);
	sorele(so);
out:
	sf_io_free(sfio);
}

/* The disk: read the run, cache the pages, complete. */
static void
sendfile_read_task(void *arg)
{
	struct sf_read *rd = arg;
	struct sf_io *sfio = rd->sfio;
	off_t off;
	ssize_t n;
	int error;

	error = 0;
	for (int i = rd->first; i < rd->first + rd->count; i++) {
		uint8_t *p = vm_page_data(sfio->pa[i]);
		size_t got = 0;

		off = (off_t)(sfio->pindex0 + i) * PAGE_SIZE;
		while (got < PAGE_SIZE) {
			n = pread(sfio->fd, p + got, PAGE_SIZE - got,
			    off + got);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				error = EIO;
				break;
			}
			if (n == 0)
				break;
			got += n;
		}
		/* Past EOF a page reads as zeros, as the pager fills it. */
		memset(p + got, 0, PAGE_SIZE - got);
	}
	if (error == 0) {
		mtx_lock(&sf_cache_mtx);
		for (int i = rd->first; i < rd->first + rd->count; i++)
			sf_cache_put(sfio->obj, sfio->pindex0 + i, sfio->pa[i]);
		mtx_unlock(&sf_cache_mtx);
	}
	kfree(rd);
	sendfile_iodone(sfio, error);
}

/*
 * sendfile_swapin(): take cached pages, start reads for runs of missing
 * ones.  Returns the number of reads started.
 */
static int
sendfile_swapin(struct sf_io *sfio)
{
	struct sf_read *rd;
	int i, j, nios;

	nios = 0;
	mtx_lock(&sf_cache_mtx);
	for (i = 0; i < sfio->npages; i++)
		sfio->pa[i] = sf_cache_get(sfio->obj, sfio->pindex0 + i);
	mtx_unlock(&sf_cache_mtx);
	for (i = 0; i < sfio->npages;) {
		if (sfio->pa[i] != NULL) {
			i++;
			continue;
		}
		for (j = i; j < sfio->npages && sfio->pa[j] == NULL; j++)
			sfio->pa[j] = vm_page_alloc_sim();
		rd = kmalloc(sizeof(*rd), M_WAITOK);
		rd->sfio = sfio;
		rd->first = i;
		rd->count = j - i;
		/*
		 * The system call's own nios reference keeps the pass from
		 * completing before its mbufs reach the socket, so the read
		 * may start (and finish) right away.
		 */
		refcount_acquire(&sfio->nios);
		nios++;
		i = j;
		platform->pl_task_post(platform, sendfile_sim_io_delay_ns,
		    sendfile_read_task, rd);
	}
	return (nios);
}

/* sendfile_free_mext_pg(): release the (page cache) pages. */
static void
sendfile_free_mext_pg(struct mbuf *m)
{

	mb_free_mext_pgs(m);
}

/*
 * sendfile_wait_generic(): check the socket and wait (or EAGAIN) until at
 * least min(need, sb_lowat) bytes of space exist.  First, on a send buffer
 * with SB_AUTOLOWAT, the old low-water hack: sb_lowat is raised to half
 * of sb_hiwat, and to a page if that is less, for this and every later
 * write or sendfile on the socket.  Under KTLS the moment a sender resumes
 * decides where records are cut, so this shapes the records.
 */
static int
sendfile_wait(struct socket *so, off_t need, long *space)
{
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	if (so->so_snd.sb_flags & SB_AUTOLOWAT) {
		if (so->so_snd.sb_lowat < so->so_snd.sb_hiwat / 2)
			so->so_snd.sb_lowat = so->so_snd.sb_hiwat / 2;
		if (so->so_snd.sb_lowat < PAGE_SIZE &&
		    so->so_snd.sb_hiwat >= PAGE_SIZE)
			so->so_snd.sb_lowat = PAGE_SIZE;
	}
	for (;;) {
		if (so->so_snd.sb_state & SBS_CANTSENDMORE) {
			error = EPIPE;
			break;
		}
		if (so->so_error) {
			error = so->so_error;
			so->so_error = 0;
			break;
		}
		if ((so->so_state & SS_ISCONNECTED) == 0) {
			error = ENOTCONN;
			break;
		}
		*space = sbspace(&so->so_snd);
		if (*space < need &&
		    (*space <= 0 || *space < (long)so->so_snd.sb_lowat)) {
			if (so->so_state & SS_NBIO) {
				error = EAGAIN;
				break;
			}
			so->so_snd.sb_flags |= SB_WAIT;
			error = msleep(&so->so_snd, so->so_snd.sb_mtx,
			    so->so_snd.sb_timeo_ns);
			if (error != 0)
				break;
			continue;
		}
		error = 0;
		break;
	}
	SOCKBUF_UNLOCK(&so->so_snd);
	return (error);
}

static struct mbuf *
sendfile_headers(struct uio *hdr_uio, long space, struct ktls_session *tls)
{

	if (tls != NULL)
		return (m_uiotombuf(hdr_uio, M_WAITOK, space,
		    tls->params.max_frame_len, M_EXTPG));
	return (m_uiotombuf(hdr_uio, M_WAITOK, space, 0, 0));
}

/*
 * vn_sendfile(): each pass waits for space, takes the headers (first pass
 * only), rechecks the file size, rounds the chunk to page boundaries,
 * grabs or reads the pages and cuts them into M_EXTPG mbufs of at most
 * max_pgs pages.  With a TLS session each such mbuf becomes one record, so
 * record sizes follow page geometry (docs/record-layouts.md).
 */
static int
vn_sendfile(struct socket *so, int fd, struct uio *hdr_uio,
    const struct iovec *trl, int trl_cnt, off_t offset, size_t nbytes,
    off_t *sent)
{
	struct ktls_session *tls;
	struct sf_object *obj;
	struct sf_io *sfio;
	struct mbuf *m, *mh, *mhtail, *m0, *mtail;
	struct stat st;
	struct msghdr msg;
	off_t off, rem, obj_size, sbytes;
	ssize_t written;
	long space;
	int error, ext_pgs_idx, flags, hdrlen, max_pgs, nios, npages;
	int tls_enq_cnt;

	/* fget_read(): the descriptor must be open for reading. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY || fstat(fd, &st) != 0)
		return (EBADF);
	if (!S_ISREG(st.st_mode))
		return (EINVAL);
	if (so->so_proto != IPPROTO_TCP)
		return (EINVAL);
	pthread_once(&sf_cache_once, sf_cache_init);

	obj_size = st.st_size;
	sbytes = 0;
	hdrlen = 0;
	mh = NULL;
	error = 0;
	rem = offset >= obj_size ?
	    0 :
	    (nbytes != 0 ? (off_t)min((uint64_t)nbytes,
			       (uint64_t)(obj_size - offset)) :
			   obj_size - offset);

	error = sock_io_send_lock(so);
	if (error != 0)
		return (error);
	SOCKBUF_LOCK(&so->so_snd);
	tls = ktls_hold(so->so_snd.sb_tls_info);
	SOCKBUF_UNLOCK(&so->so_snd);
	/*
	 * SIM: always unmapped (M_EXTPG) mbufs.  FreeBSD uses them only for
	 * TCP with kern.ipc.mb_use_ext_pgs on, or with KTLS, and otherwise
	 * one sf_buf mbuf per page; since KTLS cannot be enabled with the
	 * knob off, only plain sendfile's mbufs differ.
	 */
	max_pgs = tls != NULL ? howmany(tls->params.max_frame_len, PAGE_SIZE) :
				(int)MBUF_PEXT_MAX_PGS;

	for (off = offset; rem > 0;) {
		mtail = m = NULL;
		sfio = NULL;
		nios = 0;
		if ((error = sendfile_wait(so, rem, &space)) != 0)
			goto done;

		if (hdr_uio != NULL && hdr_uio->uio_resid > 0) {
			mh = sendfile_headers(hdr_uio, space, tls);
			hdrlen = m_length(mh, &mhtail);
			space -= hdrlen;
			/* Headers took all the space: send just them. */
			if (space == 0)
				goto prepend_header;
			hdr_uio = NULL;
		}

		/* The file may have changed size while we slept. */
		if (fstat(fd, &st) != 0) {
			error = EBADF;
			goto done;
		}
		/*
		 * Shrunk to or below what was already sent: stop without the
		 * trailers, as vn_sendfile() does (goto done).
		 */
		if (off >= st.st_size)
			goto done;
		if (st.st_size != obj_size) {
			obj_size = st.st_size;
			rem = nbytes != 0 ?
			    (off_t)min((uint64_t)nbytes + offset,
				(uint64_t)obj_size) :
			    obj_size;
			rem -= off;
		}

		/* Use page boundaries when possible for large requests. */
		if (space > rem)
			space = rem;
		else if (space > PAGE_SIZE) {
			if (off & PAGE_MASK)
				space -= PAGE_SIZE - (off & PAGE_MASK);
			space = trunc_page(space);
			if (off & PAGE_MASK)
				space += PAGE_SIZE - (off & PAGE_MASK);
		}
		npages = howmany(space + (off & PAGE_MASK), PAGE_SIZE);

		mtx_lock(&sf_cache_mtx);
		obj = sf_object_lookup(&st);
		obj->refs++;
		mtx_unlock(&sf_cache_mtx);
		sfio = kmalloc(sizeof(*sfio) + npages * sizeof(sfio->pa[0]),
		    M_WAITOK | M_ZERO);
		refcount_init(&sfio->nios, 1);
		sfio->npages = npages;
		sfio->tls = tls;
		sfio->obj = obj;
		sfio->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (sfio->fd < 0) {
			error = EBADF;
			sf_io_free(sfio);
			goto done;
		}
		sfio->pindex0 = (uint64_t)off / PAGE_SIZE;
		nios = sendfile_swapin(sfio);

		/* Cut the pages into mbufs of at most max_pgs pages. */
		ext_pgs_idx = max_pgs - 1;
		m0 = NULL;
		for (int i = 0; i < npages; i++) {
			off_t pgoff, xfs;

			ext_pgs_idx++;
			if (ext_pgs_idx == max_pgs) {
				m0 = mb_alloc_ext_pgs(M_WAITOK,
				    sendfile_free_mext_pg, M_RDONLY);
				ext_pgs_idx = 0;
				if (mtail != NULL)
					mtail->m_next = m0;
				else
					m = m0;
				mtail = m0;
				m0->m_epg_1st_off =
				    i == 0 ? (off & PAGE_MASK) : 0;
			}
			if (nios) {
				mtail->m_flags |= M_NOTREADY;
				m0->m_epg_nrdy++;
			}
			m0->m_epg_pa[ext_pgs_idx] = sfio->pa[i];
			m0->m_epg_npgs++;
			/* xfsize(): bytes of page i inside [off, off+space). */
			pgoff = i == 0 ? (off & PAGE_MASK) : 0;
			xfs = min((off_t)PAGE_SIZE - pgoff,
			    (off_t)(off + space) -
				(off_t)((sfio->pindex0 + i) * PAGE_SIZE +
				    pgoff));
			m0->m_epg_last_len = xfs;
			mtail->m_len += xfs;
			mtail->m_ext.ext_size += PAGE_SIZE;
		}
		off += space;
		rem -= space;

	prepend_header:
		if (hdrlen) {
			m0 = m;
			if (m != NULL)
				mhtail->m_next = m;
			m = mh;
			mh = NULL;
		} else
			m0 = m;
		KASSERT(m != NULL, ("vn_sendfile: nothing to send"));

		tls_enq_cnt = 0;
		if (tls != NULL)
			ktls_frame(m, tls, &tls_enq_cnt, TLS_RLTYPE_APP);
		if (nios == 0) {
			/* Everything was cached: no I/O to wait for. */
			if (sfio != NULL)
				sendfile_iodone(sfio, 0);
			if (tls != NULL && tls->mode == TCP_TLS_MODE_SW) {
				soref(so);
				error = tcp_usr_send(so, PRUS_NOTREADY, m);
				if (error != 0) {
					m_freem(m);
					sorele(so);
				} else
					ktls_enqueue(m, so, tls_enq_cnt);
			} else
				error = tcp_usr_send(so, 0, m);
		} else {
			sfio->so = so;
			sfio->m = m0;
			sfio->tls_m = m;
			sfio->tls_enq_cnt = tls_enq_cnt;
			soref(so);
			error = tcp_usr_send(so, PRUS_NOTREADY, m);
			sendfile_iodone(sfio, error);
		}
		m = NULL;
		if (error != 0)
			goto done;
		sbytes += space + hdrlen;
		hdrlen = 0;
	}

	/*
	 * The file was sent to its end (or to nbytes): the trailers follow
	 * with an ordinary write, as FreeBSD does ("wimp out and use
	 * writev").
	 */
	if (trl != NULL && trl_cnt > 0) {
		sock_io_send_unlock(so);
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = (struct iovec *)(uintptr_t)trl;
		msg.msg_iovlen = trl_cnt;
		error = ksim_sendmsg(so, &msg, 0, &written);
		if (error == 0)
			sbytes += written;
		goto out;
	}
done:
	sock_io_send_unlock(so);
out:
	if (mh != NULL)
		m_freem(mh);
	if (tls != NULL)
		ktls_free(tls);
	*sent = sbytes;
	return (error);
}

/* sendfile(2). */
int
ksim_sendfile(struct socket *so, int fd, off_t offset, size_t nbytes,
    const struct sf_hdtr *hdtr, off_t *sbytes, int flags)
{
	struct iovec *hiov;
	struct uio hdr_uio, *huio;
	off_t sent;
	int error;

	(void)flags;
	*sbytes = 0;
	sent = 0;
	if (offset < 0)
		return (EINVAL);
	huio = NULL;
	hiov = NULL;
	if (hdtr != NULL && hdtr->headers != NULL && hdtr->hdr_cnt > 0) {
		hiov = kmalloc(sizeof(*hiov) * hdtr->hdr_cnt, M_WAITOK);
		memcpy(hiov, hdtr->headers, sizeof(*hiov) * hdtr->hdr_cnt);
		hdr_uio.uio_iov = hiov;
		hdr_uio.uio_iovcnt = hdtr->hdr_cnt;
		hdr_uio.uio_offset = 0;
		hdr_uio.uio_rw = UIO_WRITE;
		hdr_uio.uio_resid = 0;
		for (int i = 0; i < hdtr->hdr_cnt; i++)
			hdr_uio.uio_resid += hiov[i].iov_len;
		huio = &hdr_uio;
	}
	error = vn_sendfile(so, fd, huio, hdtr != NULL ? hdtr->trailers : NULL,
	    hdtr != NULL ? hdtr->trl_cnt : 0, offset, nbytes, &sent);
	*sbytes = sent;
	kfree(hiov);
	return (error);
}
