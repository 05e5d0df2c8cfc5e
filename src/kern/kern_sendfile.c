/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sendfile(2) with asynchronous page I/O.  Models vn_sendfile(),
 * sendfile_getobj(), sendfile_wait_generic(), sendfile_swapin() and
 * sendfile_iodone() of sys/kern/kern_sendfile.c of FreeBSD main, with its
 * fix (sendfile_iodone()) that enqueues header records together with the
 * file records when page I/O completes.
 *
 * SIM: the VM object, its resident pages and the pager are the world's
 * (vm/vm_pager.h, implemented by models/disk/): a page that is not
 * resident is read by the pager, which calls sendfile_iodone() from
 * the disk's "interrupt", a platform task.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <fcntl.h>

#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "vm/vm_pager.h"

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
	struct vm_object *obj;
	vm_pindex_t pindex0;
	struct vm_page *pa[];
};

/*
 * The pass holds its own reference to the VM object, so the caller may
 * close the file while reads are still pending.
 */
static void
sf_io_free(struct sf_io *sfio)
{

	vm_object_deallocate(sfio->obj);
	kfree(sfio);
}

/*
 * I/O completion, from the pager (the last page read) or from
 * vn_sendfile() itself (no reads, or the system call's own reference).
 * SIM: pa and count are unused; FreeBSD restores its bogus pages here.
 */
static void
sendfile_iodone(void *arg, struct vm_page **pa, int count, int error)
{
	struct sf_io *sfio = arg;
	struct socket *so;

	(void)pa;
	(void)count;
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

/*
 * sendfile_swapin(): take the resident pages, and page in each run of the
 * others with one vm_pager_get_pages_async().  Returns the number of reads
 * started.  SIM: a page that is not resident is allocated here, outside
 * the object, and becomes resident when the pager has read it.
 */
static int
sendfile_swapin(struct vm_object *obj, struct sf_io *sfio)
{
	int i, j, nios;

	nios = 0;
	vm_page_grab_pages_sim(obj, sfio->pindex0, sfio->pa, sfio->npages);
	for (i = 0; i < sfio->npages;) {
		if (sfio->pa[i] != NULL) {
			i++;
			continue;
		}
		for (j = i; j < sfio->npages && sfio->pa[j] == NULL; j++)
			continue;
		vm_page_alloc_npages_sim(sfio->pa + i, j - i);
		/*
		 * The system call's own nios reference keeps the pass from
		 * completing before its mbufs reach the socket, so the read
		 * may start (and finish) right away.
		 */
		refcount_acquire(&sfio->nios);
		nios++;
		vm_pager_get_pages_async(obj, sfio->pindex0 + i, sfio->pa + i,
		    j - i, sendfile_iodone, sfio);
		i = j;
	}
	return (nios);
}

/*
 * sendfile_getobj(): the file's VM object, referenced.  A platform
 * without a pager is a file without a VM object.
 */
static int
sendfile_getobj(int fd, const struct stat *st, struct vm_object **obj)
{

	if (platform->pl_pager == NULL)
		return (EINVAL);
	return (vm_pager_allocate_sim(fd, st, obj));
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
	struct vm_object *obj, *pobj;
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
	error = sendfile_getobj(fd, &st, &obj);
	if (error != 0)
		return (error);

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
	if (error != 0) {
		vm_object_deallocate(obj);
		return (error);
	}
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

		/*
		 * SIM: a VM object stands for one version of the file
		 * (models/disk/disk.h), so each pass takes the object of the
		 * file as fstat() just saw it; FreeBSD's passes share the
		 * object taken at the start.
		 */
		error = sendfile_getobj(fd, &st, &pobj);
		if (error != 0)
			goto done;
		sfio = kmalloc(sizeof(*sfio) + npages * sizeof(sfio->pa[0]),
		    M_WAITOK | M_ZERO);
		refcount_init(&sfio->nios, 1);
		sfio->npages = npages;
		sfio->tls = tls;
		sfio->obj = pobj;
		sfio->pindex0 = (uint64_t)off / PAGE_SIZE;
		nios = sendfile_swapin(pobj, sfio);

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
				sendfile_iodone(sfio, NULL, 0, 0);
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
			sendfile_iodone(sfio, NULL, 0, error);
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
	vm_object_deallocate(obj);
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
