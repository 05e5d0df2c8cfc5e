/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Page allocation and references.  Models the parts of
 * sys/vm/vm_page.c that mbufs and sendfile(2) use: vm_page_alloc(),
 * vm_page_wire() and vm_page_unwire().  Depends on nothing but
 * sys/kern_compat.h, so that the disk model (models/disk/) and the
 * runners' own tests can link it alone.
 */

#include "sys/kern_compat.h"
#include "vm/vm_page.h"

/*
 * SIM: pages come from malloc.  A page that some mbuf and the vnode page
 * cache share is released by whoever drops the last reference.  Freed
 * pages wait on a short free list, as in a UMA zone's cache, because a
 * 16 KiB record costs four page allocations and four frees on the hot
 * path; the list holds at most vm_page_free_max pages.
 */
static struct mtx vm_page_free_mtx;
static pthread_once_t vm_page_free_once = PTHREAD_ONCE_INIT;
static struct vm_page *vm_page_free_list;
static u_int vm_page_free_count;
static const u_int vm_page_free_max = 4096;

static void
vm_page_free_init(void)
{

	mtx_init(&vm_page_free_mtx, "vm_page_free");
}

struct vm_page *
vm_page_alloc_sim(void)
{
	struct vm_page *pg;

	pthread_once(&vm_page_free_once, vm_page_free_init);
	mtx_lock(&vm_page_free_mtx);
	pg = vm_page_free_list;
	if (pg != NULL) {
		vm_page_free_list = pg->next_free;
		vm_page_free_count--;
	}
	mtx_unlock(&vm_page_free_mtx);
	if (pg == NULL) {
		pg = kmalloc(sizeof(*pg), M_WAITOK);
		if (posix_memalign((void **)&pg->data, PAGE_SIZE, PAGE_SIZE) !=
		    0)
			panic("vm_page_alloc_sim: out of memory");
	}
	pg->next_free = NULL;
	refcount_init(&pg->refcount, 1);
	return (pg);
}

void
vm_page_hold(struct vm_page *pg)
{

	refcount_acquire(&pg->refcount);
}

void
vm_page_release(struct vm_page *pg)
{

	if (!refcount_release(&pg->refcount))
		return;
	mtx_lock(&vm_page_free_mtx);
	if (vm_page_free_count < vm_page_free_max) {
		pg->next_free = vm_page_free_list;
		vm_page_free_list = pg;
		vm_page_free_count++;
		pg = NULL;
	}
	mtx_unlock(&vm_page_free_mtx);
	if (pg != NULL) {
		free(pg->data);
		kfree(pg);
	}
}

void
vm_page_drain_sim(void)
{
	struct vm_page *pg;

	pthread_once(&vm_page_free_once, vm_page_free_init);
	mtx_lock(&vm_page_free_mtx);
	while ((pg = vm_page_free_list) != NULL) {
		vm_page_free_list = pg->next_free;
		free(pg->data);
		kfree(pg);
	}
	vm_page_free_count = 0;
	mtx_unlock(&vm_page_free_mtx);
}
