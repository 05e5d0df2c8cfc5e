/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Pages.  Models the part of sys/vm/vm_page.h that mbufs and sendfile(2)
 * use, and the physical page allocator behind it (sys/vm/vm_phys.c).
 */

#ifndef _VM_VM_PAGE_H_
#define _VM_VM_PAGE_H_

#include <sys/types.h>

#include <stdint.h>

/* sys/sys/types.h: a page's index within its VM object. */
typedef uint64_t vm_pindex_t;

struct vm_phys_seg_sim;

/*
 * SIM: a page is a refcounted 4 KiB frame instead of a physical address.
 * Page-cache pages (sendfile) are shared between the file's VM object and
 * any mbuf that references them; anonymous pages (write(2)) have one
 * owner.  A reference stands for FreeBSD's wiring (vm_page_wire()).
 * Frames are carved from 2 MiB segments (vm_page.c).
 */
struct vm_page {
	volatile u_int refcount;
	uint8_t *data;
	struct vm_page *next_free;   /* on the free list */
	struct vm_phys_seg_sim *seg; /* the segment data lies in */
};

/* Pages per segment: 2 MiB, the size of a superpage on amd64. */
#define VM_PHYS_SEG_PAGES 512

/*
 * A new page with one reference (vm_page_alloc() with VM_ALLOC_WAITOK);
 * contents undefined.  When the page limit is reached it asks the page
 * daemon hook to free cached pages and otherwise sleeps until a page is
 * freed (vm_wait()); it never fails.  SIM: after a second in which no
 * page at all was freed it takes one beyond the limit (vs_overcommit).
 */
struct vm_page *vm_page_alloc_sim(void);
/*
 * npages of them into ma[], taking the allocator's lock once when the limit
 * allows (vm_phys_alloc_npages() filling a per-CPU cache), else as
 * vm_page_alloc_sim() each.
 */
void vm_page_alloc_npages_sim(struct vm_page **ma, int npages);
/* Another reference (vm_page_wire()). */
void vm_page_hold(struct vm_page *pg);
/* Drop a reference; the last one frees the page (vm_page_unwire()). */
void vm_page_release(struct vm_page *pg);
/* vm_page_release() of each non-NULL ma[i], freeing under one lock. */
void vm_page_release_npages_sim(struct vm_page **ma, int npages);
/* Unmap the segments none of whose pages is in use (leak checks, tests). */
void vm_page_drain_sim(void);

/*
 * The most pages in use at once (FreeBSD: the machine's memory,
 * vm_cnt.v_page_count); 0, the default, is no limit.  Lowering it below
 * the pages in use takes effect as they are freed.
 */
void vm_page_set_limit_sim(u_int npages);
/*
 * The page daemon (sys/vm/vm_pageout.c vm_pageout_scan_inactive()): asked
 * to free up to npages unwired pages when the limit is reached, returns
 * how many it freed.  The pager (models/disk/) installs it.
 */
typedef u_int vm_pageout_fn_t(u_int npages);
void vm_page_set_pageout_sim(vm_pageout_fn_t *fn);

struct vm_page_stats {
	u_int vs_inuse;		/* pages allocated and not freed */
	u_int vs_free;		/* carved pages on the free list */
	u_int vs_segs;		/* segments mapped */
	u_int vs_limit;		/* vm_page_set_limit_sim() */
	uint64_t vs_waits;	/* allocations that slept (vm_wait()) */
	uint64_t vs_reclaimed;	/* pages the page daemon freed for them */
	uint64_t vs_overcommit; /* taken beyond the limit after a stall */
};
void vm_page_stats_sim(struct vm_page_stats *vs);

static inline uint8_t *
vm_page_data(struct vm_page *pg)
{

	return (pg->data);
}

#endif /* !_VM_VM_PAGE_H_ */
