/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * mbufs: plain mbufs with external storage and unmapped M_EXTPG mbufs that
 * carry a TLS header and trailer around an array of pages.  Models
 * sys/sys/mbuf.h.
 */

#ifndef _SYS_MBUF_H_
#define _SYS_MBUF_H_

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stdint.h>

#include "sys/kern_compat.h"
#include "vm/vm_page.h"

struct ifnet;
struct ktls_session;
struct m_snd_tag;
struct mbuf;
struct socket;

/* sys/sys/param.h: the size of an mbuf and of a standard cluster. */
#define MSIZE 256
#define MCLBYTES 2048

#define MBUF_PEXT_HDR_LEN 23
#define MBUF_PEXT_TRAIL_LEN 64
#define MBUF_PEXT_MAX_PGS (40 / sizeof(void *)) /* 5 on LP64 */

/* m_flags */
#define M_EXT 0x00000001 /* has associated external storage */
#define M_PKTHDR 0x00000002
#define M_EOR 0x00000004 /* end of record */
#define M_RDONLY 0x00000008
#define M_EXTPG 0x00000100 /* unmapped pages and TLS */
#define M_PROTO1 0x00002000
#define M_PROTO2 0x00004000
#define M_NOTREADY M_PROTO1 /* sys/sockbuf.h: data not ready */
#define M_BLOCKED M_PROTO2  /* ready, but behind a not-ready mbuf */
#define M_NOTAVAIL (M_NOTREADY | M_BLOCKED)

/* m_ext.ext_flags */
#define EXT_FLAG_EMBREF 0x000001 /* this mbuf holds ext_count */

/* m_pkthdr.csum_flags */
#define CSUM_SND_TAG 0x80000000 /* m_pkthdr.snd_tag holds a reference */

/* mbuf types (m_get()); SIM: only data mbufs exist. */
#define MT_DATA 1

/* m_copym() length meaning "to the end of the chain". */
#define M_COPYALL 1000000000

/* m_epg_flags */
#define EPG_FLAG_ANON 0x1  /* pages are private: encrypt in place */
#define EPG_FLAG_2FREE 0x2 /* queued to a worker only to be freed */

typedef void m_ext_free_t(struct mbuf *m);

/*
 * The packet header of a chain's first mbuf (M_PKTHDR): what ip_output()
 * and an ifnet read besides the bytes.  SIM: no receive interface, hash
 * type, TSO or VLAN fields.
 */
struct pkthdr {
	struct m_snd_tag *snd_tag; /* with CSUM_SND_TAG */
	int len;		   /* bytes in the whole chain */
	uint32_t flowid;
	uint32_t csum_flags;
};

struct mbuf {
	struct mbuf *m_next;
	struct mbuf *m_nextpkt; /* next chain in an interface queue */
	int m_len;
	int m_flags;
	/*
	 * Plain mbufs: pointer into ext_buf.  M_EXTPG: unused; the data
	 * offset lives in m_epg_off (SIM: FreeBSD stores it in m_data).
	 */
	char *m_data;
	struct pkthdr m_pkthdr;
	/*
	 * External storage, shared by reference (mb_dupcl()): the mbuf that
	 * was allocated with it holds the count (EXT_FLAG_EMBREF, ext_count)
	 * and every copy points at that count (ext_cnt).  The storage, and
	 * for M_EXTPG the TLS session reference, go when the count does
	 * (sys/kern/kern_mbuf.c mb_free_ext(), mb_free_extpg()).
	 */
	struct {
		char *ext_buf;
		u_int ext_size;
		m_ext_free_t *ext_free;
		void *ext_arg1;
		union {
			volatile u_int ext_count;
			volatile u_int *ext_cnt;
		};
		int ext_flags;
	} m_ext;

	/* M_EXTPG only. */
	u_int m_epg_off; /* offset into hdr | pages | trail */
	uint8_t m_epg_npgs;
	uint8_t m_epg_nrdy;
	uint8_t m_epg_hdrlen;
	uint8_t m_epg_trllen;
	uint16_t m_epg_1st_off;
	uint16_t m_epg_last_len;
	uint8_t m_epg_flags;
	uint8_t m_epg_record_type;
	int m_epg_enc_cnt;
	struct ktls_session *m_epg_tls;
	struct socket *m_epg_so;
	uint64_t m_epg_seqno;
	STAILQ_ENTRY(mbuf) m_epg_stailq;
	struct vm_page *m_epg_pa[MBUF_PEXT_MAX_PGS];
	uint8_t m_epg_hdr[MBUF_PEXT_HDR_LEN];
	uint8_t m_epg_trail[MBUF_PEXT_TRAIL_LEN];
};

static inline bool
mbuf_has_tls_session(const struct mbuf *m)
{

	return ((m->m_flags & M_EXTPG) != 0 && m->m_epg_tls != NULL);
}

/* Length of page i's data within an M_EXTPG mbuf (m_epg_pagelen()). */
static inline int
m_epg_pagelen(const struct mbuf *m, int pidx, int pgoff)
{

	if (pidx == m->m_epg_npgs - 1)
		return (m->m_epg_last_len);
	return (PAGE_SIZE - pgoff);
}

/* Bytes of page data in an M_EXTPG mbuf. */
u_int m_epg_datalen(const struct mbuf *m);

struct mbuf *m_get(int how, short type);      /* no storage */
struct mbuf *m_get_ext(size_t size, int how); /* plain mbuf, storage */
/* Turn m into the first mbuf of a packet: M_PKTHDR, zeroed m_pkthdr. */
int m_pkthdr_init(struct mbuf *m, int how);
/*
 * n (fresh from m_get()) shares m's external storage: the data pointer or
 * page array, header and trailer are copied, the storage is referenced.
 */
void mb_dupcl(struct mbuf *n, struct mbuf *m);
/*
 * Copy [off, off + len) of a chain (len may be M_COPYALL) into a new
 * chain that references the same storage; NULL when out of mbufs.
 */
struct mbuf *m_copym(struct mbuf *m, int off, int len, int how);
struct mbuf *mb_alloc_ext_pgs(int how, m_ext_free_t *ext_free, int flags);
void mb_free_extpg(struct mbuf *m);
struct mbuf *m_free(struct mbuf *m);
void m_freem(struct mbuf *m);
void mb_free_notready(struct mbuf *m, int count);
u_int m_length(struct mbuf *m, struct mbuf **last);
void m_copydata(const struct mbuf *m, int off, int len, void *cp);
/* Append the bytes [off, off + len) of one mbuf as iovecs; returns count. */
int m_to_iovec(const struct mbuf *m, int off, int len, struct iovec *iov,
    int maxiov);
/*
 * The same over a chain: the bytes [off, off + len) as at most maxiov
 * iovecs (m_chain_iovmax() of them always suffice); returns the count.
 */
int m_chain_iovmax(const struct mbuf *m, int off, int len);
int m_chain_to_iovec(const struct mbuf *m, int off, int len, struct iovec *iov,
    int maxiov);
/* Free the pages an M_EXTPG mbuf holds (default ext_free). */
void mb_free_mext_pgs(struct mbuf *m);

struct uio;
struct mbuf *m_uiotombuf(struct uio *uio, int how, int len, int maxseg,
    int flags);

/*
 * Invariant checker: m_len against header, pages and trailer (a copy made
 * by mb_dupcl() may also end early); page and nrdy counts; flags.
 * Returns 0 or panics (INVARIANTS) / returns EDOOFUS.
 */
int m_chain_check(const struct mbuf *m);
int m_chain_check_one(const struct mbuf *m);

/* A minimal struct uio (sys/uio.h) over user iovecs. */
enum uio_rw { UIO_READ, UIO_WRITE };
struct uio {
	struct iovec *uio_iov;
	int uio_iovcnt;
	off_t uio_offset;
	ssize_t uio_resid;
	enum uio_rw uio_rw;
};
int uiomove(void *cp, int n, struct uio *uio);

#endif /* !_SYS_MBUF_H_ */
