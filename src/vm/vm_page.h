/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Pages.  Models the part of sys/vm/vm_page.h that mbufs and sendfile(2)
 * use.
 */

#ifndef _VM_VM_PAGE_H_
#define _VM_VM_PAGE_H_

#include <sys/types.h>

#include <stdint.h>

/* sys/sys/types.h: a page's index within its VM object. */
typedef uint64_t vm_pindex_t;

/*
 * SIM: a page is a refcounted 4 KiB buffer instead of a physical address.
 * Page-cache pages (sendfile) are shared between the file's VM object and
 * any mbuf that references them; anonymous pages (write(2)) have one
 * owner.  A reference stands for FreeBSD's wiring (vm_page_wire()).
 */
struct vm_page {
	volatile u_int refcount;
	uint8_t *data;
	struct vm_page *next_free; /* on the free list */
};

/* A new page with one reference (vm_page_alloc()); contents undefined. */
struct vm_page *vm_page_alloc_sim(void);
/* Another reference (vm_page_wire()). */
void vm_page_hold(struct vm_page *pg);
/* Drop a reference; the last one frees the page (vm_page_unwire()). */
void vm_page_release(struct vm_page *pg);
/* Return the free list to malloc (leak checkers, tests). */
void vm_page_drain_sim(void);

static inline uint8_t *
vm_page_data(struct vm_page *pg)
{

	return (pg->data);
}

#endif /* !_VM_VM_PAGE_H_ */
