/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: the VM objects, their resident pages and the pager behind
 * sendfile(2), as one table of functions that the platform carries
 * (platform->pl_pager, sys/platform.h).  In FreeBSD these are the kernel's
 * own (sys/vm/vm_object.c, vm_page.c, vnode_pager.c) over a disk driver;
 * in the simulator the world outside src/ implements them (models/disk/,
 * installed by both runners), so that the world decides how long a read
 * takes and in which order reads complete, and src/ keeps only the
 * sendfile(2) logic of sys/kern/kern_sendfile.c.
 *
 * The inline functions below carry the names of the FreeBSD functions
 * they stand in for, with _sim where the arguments or the meaning differ.
 */

#ifndef _VM_VM_PAGER_H_
#define _VM_VM_PAGER_H_

#include "sys/platform.h"
#include "vm/vm_page.h"

struct stat;
/* A file's pages and its pager's state: opaque to the kernel. */
struct vm_object;

/* sys/vm/vm_pager.h: what vm_pager_get_pages_async() calls when done. */
typedef void pgo_getpages_iodone_t(void *arg, struct vm_page **pa, int count,
    int error);

/* After FreeBSD's struct pagerops (sys/vm/vm_pager.h). */
struct pagerops {
	/*
	 * The VM object of the regular file open as fd, whose attributes are
	 * *st, created if need be, in *obj with a reference for the caller
	 * (vnode_pager_alloc(); sendfile_getobj() takes vp->v_object and
	 * vm_object_reference()).  The object reads the file through a
	 * descriptor of its own, so the caller may close fd at any time.
	 * Returns 0 or an errno.
	 */
	int (*pgo_alloc)(int fd, const struct stat *st, struct vm_object **obj);
	/* Drop a reference (vm_object_deallocate()). */
	void (*pgo_dealloc)(struct vm_object *obj);
	/*
	 * pa[i] = the resident, valid page pindex + i of obj with a reference
	 * for the caller (vm_page_release()), or NULL, for i < count.
	 */
	void (*pgo_lookup)(struct vm_object *obj, vm_pindex_t pindex,
	    struct vm_page **pa, int count);
	/*
	 * Read pages pindex .. pindex + count - 1 of obj into the caller's
	 * pages pa[0 .. count) (vnode_pager_getpages_async()).  Returns at
	 * once; later, on another thread (the disk's interrupt), the pages
	 * hold the file's bytes, zeros past its end, and are resident in
	 * obj, and iodone(arg, pa, count, error) is called; error is 0 or
	 * EIO.  The pager holds its own reference to obj until then.
	 */
	void (*pgo_getpages_async)(struct vm_object *obj, vm_pindex_t pindex,
	    struct vm_page **pa, int count, pgo_getpages_iodone_t *iodone,
	    void *arg);
};

static inline int
vm_pager_allocate_sim(int fd, const struct stat *st, struct vm_object **objp)
{

	return (platform->pl_pager->pgo_alloc(fd, st, objp));
}

static inline void
vm_object_deallocate(struct vm_object *obj)
{

	platform->pl_pager->pgo_dealloc(obj);
}

/*
 * vm_page_grab_pages(), except that a page that is not resident and valid
 * is left NULL instead of being allocated busy in the object: the caller
 * allocates it and it becomes resident when the pager has read it.
 */
static inline void
vm_page_grab_pages_sim(struct vm_object *obj, vm_pindex_t pindex,
    struct vm_page **pa, int count)
{

	platform->pl_pager->pgo_lookup(obj, pindex, pa, count);
}

/*
 * FreeBSD's pages know their object and index, and the call takes read
 * behind and ahead counts; here pindex is explicit and nothing is read
 * beyond the request.
 */
static inline void
vm_pager_get_pages_async(struct vm_object *obj, vm_pindex_t pindex,
    struct vm_page **pa, int count, pgo_getpages_iodone_t *iodone, void *arg)
{

	platform->pl_pager->pgo_getpages_async(obj, pindex, pa, count, iodone,
	    arg);
}

#endif /* !_VM_VM_PAGER_H_ */
