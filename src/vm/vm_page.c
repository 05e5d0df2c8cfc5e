/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Page allocation and references.  Models the parts of sys/vm/vm_page.c
 * and sys/vm/vm_phys.c that mbufs and sendfile(2) use: vm_page_alloc(),
 * vm_page_wire(), vm_page_unwire() and vm_wait().  Depends on nothing but
 * sys/kern_compat.h (and msleep(9) through the platform once a page limit
 * is set), so that the disk model (models/disk/) and the runners' own
 * tests can link it alone.
 *
 * Frames come from segments of VM_PHYS_SEG_PAGES pages (2 MiB) mapped
 * with mmap(2), as FreeBSD's come from the physical segments that
 * vm_phys_add_seg() registers: each segment's pages go onto one free list
 * and vm_page_alloc_sim() takes the first, as vm_phys_alloc_pages() does
 * (with a single pool and order 0 only: there are no NUMA domains, free
 * pools or buddy queues to keep, docs/differences.md).  A segment is
 * mapped when the list is empty and the limit allows, so a process's
 * resident memory follows the pages it ever used at once, 4 KiB each,
 * instead of a malloc block with its alignment slack per page.  Freed
 * frames go back on the list and are reused; a segment returns to the
 * system only in vm_page_drain_sim(), when none of its pages is in use.
 *
 * Under AddressSanitizer a free frame is poisoned, so that a use after
 * the last vm_page_release() is reported as a malloc'ed page's would be.
 */

#include <sys/mman.h>

#include "sys/kern_compat.h"
#include "vm/vm_page.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_PAGE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VM_PAGE_ASAN 1
#endif
#ifdef VM_PAGE_ASAN
#include <sanitizer/asan_interface.h>
#define VM_PAGE_POISON(p, len) ASAN_POISON_MEMORY_REGION((p), (len))
#define VM_PAGE_UNPOISON(p, len) ASAN_UNPOISON_MEMORY_REGION((p), (len))
#else
#define VM_PAGE_POISON(p, len) ((void)(p), (void)(len))
#define VM_PAGE_UNPOISON(p, len) ((void)(p), (void)(len))
#endif

#define VM_PHYS_SEG_SIZE ((size_t)VM_PHYS_SEG_PAGES * PAGE_SIZE)

/* Pages the page daemon is asked to free at a time. */
#define VM_PAGEOUT_BATCH 32
/*
 * How long vm_wait() may go without a single page being freed before the
 * allocation takes one beyond the limit (vm_page_alloc_sim()).
 */
#define VM_WAIT_STALL_NS (1000ull * 1000 * 1000)

/* One mapped segment and its page structures (vm_page_array's share). */
struct vm_phys_seg_sim {
	uint8_t *vs_base;
	u_int vs_nfree; /* its pages on the free list */
	struct vm_phys_seg_sim *vs_next;
	struct vm_page vs_pages[VM_PHYS_SEG_PAGES];
};

static struct mtx vm_page_free_mtx;
static pthread_once_t vm_page_free_once = PTHREAD_ONCE_INIT;
static struct vm_page *vm_page_free_list;
static struct vm_phys_seg_sim *vm_phys_segs;
static struct vm_page_stats vm_page_st;
static u_int vm_page_waiters;
static uint64_t vm_page_nfreed; /* frees ever, to tell a stall */
static vm_pageout_fn_t *vm_pageout_fn;

static void
vm_page_free_init(void)
{

	mtx_init(&vm_page_free_mtx, "vm_page_free");
}

static void
vm_page_lock(void)
{

	pthread_once(&vm_page_free_once, vm_page_free_init);
	mtx_lock(&vm_page_free_mtx);
}

static void
vm_page_unlock(void)
{

	mtx_unlock(&vm_page_free_mtx);
}

/* Put a free frame on the list, poisoned. */
static void
vm_page_free_insert(struct vm_page *pg)
{

	mtx_assert(&vm_page_free_mtx, MA_OWNED);
	VM_PAGE_POISON(pg->data, PAGE_SIZE);
	pg->next_free = vm_page_free_list;
	vm_page_free_list = pg;
	pg->seg->vs_nfree++;
	vm_page_st.vs_free++;
}

/*
 * Map a segment and put its pages on the free list, first page on top.
 * False if mmap(2) fails.
 */
static bool
vm_phys_seg_add(void)
{
	struct vm_phys_seg_sim *seg;
	void *p;

	mtx_assert(&vm_page_free_mtx, MA_OWNED);
	p = mmap(NULL, VM_PHYS_SEG_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (false);
	seg = kmalloc(sizeof(*seg), M_NOWAIT | M_ZERO);
	if (seg == NULL) {
		munmap(p, VM_PHYS_SEG_SIZE);
		return (false);
	}
	seg->vs_base = p;
	for (int i = VM_PHYS_SEG_PAGES - 1; i >= 0; i--) {
		seg->vs_pages[i].data = seg->vs_base + (size_t)i * PAGE_SIZE;
		seg->vs_pages[i].seg = seg;
		vm_page_free_insert(&seg->vs_pages[i]);
	}
	seg->vs_next = vm_phys_segs;
	vm_phys_segs = seg;
	vm_page_st.vs_segs++;
	return (true);
}

/*
 * Take a free frame if the limit allows (or if over), mapping a segment
 * if need be.
 */
static struct vm_page *
vm_page_free_take(bool over)
{
	struct vm_page *pg;

	mtx_assert(&vm_page_free_mtx, MA_OWNED);
	if (!over && vm_page_st.vs_limit != 0 &&
	    vm_page_st.vs_inuse >= vm_page_st.vs_limit)
		return (NULL);
	if (vm_page_free_list == NULL && !vm_phys_seg_add())
		return (NULL);
	pg = vm_page_free_list;
	vm_page_free_list = pg->next_free;
	pg->next_free = NULL;
	pg->seg->vs_nfree--;
	vm_page_st.vs_free--;
	vm_page_st.vs_inuse++;
	VM_PAGE_UNPOISON(pg->data, PAGE_SIZE);
	return (pg);
}

struct vm_page *
vm_page_alloc_sim(void)
{
	struct vm_page *pg;
	vm_pageout_fn_t *pageout;
	uint64_t gen;
	u_int freed;
	bool over;
	int error;

	over = false;
	vm_page_lock();
	while ((pg = vm_page_free_take(over)) == NULL) {
		/*
		 * Out of pages: first let the page daemon free unwired
		 * cached ones (vm_page_alloc() wakes vm_pageout and
		 * reclaims), then sleep until a page is freed, as
		 * vm_page_alloc(VM_ALLOC_WAITOK) does in vm_wait_domain().
		 * The hook takes the pager's lock and frees pages, hence
		 * without ours.
		 */
		pageout = vm_pageout_fn;
		if (pageout != NULL) {
			vm_page_unlock();
			freed = pageout(VM_PAGEOUT_BATCH);
			vm_page_lock();
			vm_page_st.vs_reclaimed += freed;
			if (freed > 0)
				continue;
		}
		if (vm_page_st.vs_limit == 0 ||
		    vm_page_st.vs_inuse < vm_page_st.vs_limit)
			panic("vm_page_alloc_sim: cannot map a segment");
		/*
		 * SIM: FreeBSD sleeps for as long as it takes.  Here the
		 * thread that sleeps may be the one that would free pages
		 * (sim_server's event loop both sends and calls sendfile),
		 * so a second without any page freed counts as a deadlock
		 * and the page is taken beyond the limit, counted in
		 * vs_overcommit (docs/differences.md).
		 */
		vm_page_st.vs_waits++;
		vm_page_waiters++;
		gen = vm_page_nfreed;
		error = msleep(&vm_page_waiters, &vm_page_free_mtx,
		    VM_WAIT_STALL_NS);
		vm_page_waiters--;
		if (error == EWOULDBLOCK && vm_page_nfreed == gen) {
			vm_page_st.vs_overcommit++;
			over = true;
		}
	}
	vm_page_unlock();
	refcount_init(&pg->refcount, 1);
	return (pg);
}

/*
 * npages new pages in one trip through the free list's lock, as
 * vm_page_zone_import() fills a per-CPU bucket of the page cache zone with
 * vm_phys_alloc_npages(): the KTLS workers take four per sendfile record
 * (FreeBSD: one buffer of ktls_buffer_zone, from a per-CPU UMA cache, so
 * no shared lock per page).  Pages the limit does not let it take at once
 * come one at a time from vm_page_alloc_sim(), which may call the page
 * daemon and sleep.
 */
void
vm_page_alloc_npages_sim(struct vm_page **ma, int npages)
{
	int i;

	vm_page_lock();
	for (i = 0; i < npages; i++) {
		ma[i] = vm_page_free_take(false);
		if (ma[i] == NULL)
			break;
	}
	vm_page_unlock();
	for (int j = 0; j < i; j++)
		refcount_init(&ma[j]->refcount, 1);
	for (; i < npages; i++)
		ma[i] = vm_page_alloc_sim();
}

void
vm_page_hold(struct vm_page *pg)
{

	refcount_acquire(&pg->refcount);
}

/* Put pages whose last reference is gone back on the free list. */
static void
vm_page_free_npages(struct vm_page **ma, int npages)
{
	bool wake;

	vm_page_lock();
	for (int i = 0; i < npages; i++) {
		MPASS(vm_page_st.vs_inuse > 0);
		vm_page_st.vs_inuse--;
		vm_page_nfreed++;
		vm_page_free_insert(ma[i]);
	}
	/* vm_page_free_wakeup(): a sleeper in vm_wait() may go on. */
	wake = vm_page_waiters > 0;
	vm_page_unlock();
	if (wake)
		wakeup(&vm_page_waiters);
}

void
vm_page_release(struct vm_page *pg)
{

	if (refcount_release(&pg->refcount))
		vm_page_free_npages(&pg, 1);
}

/*
 * vm_page_release() of each non-NULL page, the ones freed in one trip
 * through the lock (vm_page_zone_release() giving a bucket back).
 */
void
vm_page_release_npages_sim(struct vm_page **ma, int npages)
{
	struct vm_page *freed[16];
	int n;

	n = 0;
	for (int i = 0; i < npages; i++) {
		if (ma[i] == NULL || !refcount_release(&ma[i]->refcount))
			continue;
		freed[n++] = ma[i];
		if (n == (int)nitems(freed)) {
			vm_page_free_npages(freed, n);
			n = 0;
		}
	}
	if (n > 0)
		vm_page_free_npages(freed, n);
}

void
vm_page_drain_sim(void)
{
	struct vm_phys_seg_sim **segp, *seg;
	struct vm_page **pgp;

	vm_page_lock();
	/* Unlink the pages of wholly free segments from the free list. */
	pgp = &vm_page_free_list;
	while (*pgp != NULL) {
		if ((*pgp)->seg->vs_nfree == VM_PHYS_SEG_PAGES)
			*pgp = (*pgp)->next_free;
		else
			pgp = &(*pgp)->next_free;
	}
	segp = &vm_phys_segs;
	while ((seg = *segp) != NULL) {
		if (seg->vs_nfree != VM_PHYS_SEG_PAGES) {
			segp = &seg->vs_next;
			continue;
		}
		*segp = seg->vs_next;
		VM_PAGE_UNPOISON(seg->vs_base, VM_PHYS_SEG_SIZE);
		munmap(seg->vs_base, VM_PHYS_SEG_SIZE);
		vm_page_st.vs_free -= VM_PHYS_SEG_PAGES;
		vm_page_st.vs_segs--;
		kfree(seg);
	}
	vm_page_unlock();
}

void
vm_page_set_limit_sim(u_int npages)
{

	bool wake;

	vm_page_lock();
	vm_page_st.vs_limit = npages;
	wake = vm_page_waiters > 0;
	vm_page_unlock();
	/* A higher limit may let sleepers go on. */
	if (wake)
		wakeup(&vm_page_waiters);
}

void
vm_page_set_pageout_sim(vm_pageout_fn_t *fn)
{

	vm_page_lock();
	vm_pageout_fn = fn;
	vm_page_unlock();
}

void
vm_page_stats_sim(struct vm_page_stats *vs)
{

	vm_page_lock();
	*vs = vm_page_st;
	vm_page_unlock();
}
