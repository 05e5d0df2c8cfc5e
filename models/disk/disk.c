/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The disk model (disk.h): the pager of src/vm/vm_pager.h.
 *
 * VM objects.  A table of DISK_NOBJECTS files keyed by (device, inode,
 * size, mtime, ctime), so that a file changed in any way gets a new object
 * and never serves stale pages; the version it replaces is evicted.  An
 * object holds a descriptor of its file (a dup of the first caller's)
 * while anyone holds a reference, and reads through it, as FreeBSD's
 * object reads through its vnode; the table's own entry holds none, so a
 * deleted file is not kept open by the cache.
 *
 * Resident pages.  One tree per object keyed by page index, and one LRU
 * list over all objects that keeps at most dp_cache_pages pages.  A page
 * becomes resident when a read of it succeeds; until then it belongs to
 * the caller alone (FreeBSD inserts it busy and invalid before the read).
 *
 * Reads.  pgo_getpages_async() posts a platform task, the disk's
 * interrupt, after the delay the profile draws; the task preadv(2)s the
 * pages, makes them resident and calls the caller's iodone.  With
 * dp_sync a read without delay does all that in the caller instead.
 *
 * One mutex guards the table, the trees and the LRU list; the counters
 * (DISK_COUNTERS in disk.h) are counter(9)s of their own.
 */

#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/tree.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <unistd.h>

#include "disk.h"
#include "sys/kern_compat.h"
#include "vm/vm_pager.h"

#define DISK_NOBJECTS 64
/* Pages per preadv(2) (Linux and FreeBSD: IOV_MAX 1024). */
#define DISK_READ_IOV 256

const struct disk_profile disk_profile_default = {
	.dp_cache_pages = 16384,
};
struct disk_profile disk_profile = {
	.dp_cache_pages = 16384,
};

struct disk_page {
	RB_ENTRY(disk_page) dpg_link;
	TAILQ_ENTRY(disk_page) dpg_lru;
	struct vm_object *dpg_obj;
	vm_pindex_t dpg_pindex;
	struct vm_page *dpg_m;
	SLIST_ENTRY(disk_page) dpg_free; /* on disk_page_zone */
};

/* The kernel sees this only as an opaque struct vm_object. */
struct vm_object {
	RB_HEAD(disk_ptree, disk_page) do_pages;
	u_int do_npages;
	u_int do_refs; /* callers' and pending reads' */
	bool do_dead;  /* evicted from the table: cache nothing more */
	int do_fd;     /* open while do_refs > 0 */
	dev_t do_dev;
	ino_t do_ino;
	off_t do_size;
	struct timespec do_mtime, do_ctime;
};

/* One pending read. */
struct disk_read {
	TAILQ_ENTRY(disk_read) dr_link; /* in issue order */
	struct vm_object *dr_obj;
	vm_pindex_t dr_pindex;
	struct vm_page **dr_pa;
	int dr_count;
	pgo_getpages_iodone_t *dr_iodone;
	void *dr_arg;
};

static int
disk_page_cmp(struct disk_page *a, struct disk_page *b)
{

	return (
	    a->dpg_pindex < b->dpg_pindex ? -1 : a->dpg_pindex > b->dpg_pindex);
}
RB_PROTOTYPE_STATIC(disk_ptree, disk_page, dpg_link, disk_page_cmp);
RB_GENERATE_STATIC(disk_ptree, disk_page, dpg_link, disk_page_cmp);

static struct mtx disk_mtx;
static pthread_once_t disk_once = PTHREAD_ONCE_INIT;
static struct vm_object *disk_objects[DISK_NOBJECTS];
static TAILQ_HEAD(, disk_page) disk_lru = TAILQ_HEAD_INITIALIZER(disk_lru);
static u_int disk_resident;
static TAILQ_HEAD(, disk_read) disk_pending =
    TAILQ_HEAD_INITIALIZER(disk_pending);
/*
 * Cache entries no longer in use, kept for the next page that becomes
 * resident (a uma(9) zone's cache, in effect): a file streamed through the
 * cache inserts and evicts one per page.  Never longer than the most
 * pages ever resident at once.
 */
static SLIST_HEAD(, disk_page) disk_page_zone =
    SLIST_HEAD_INITIALIZER(disk_page_zone);
#define DISK_COUNTER_DEFINE(var, name, descr) static counter_u64_t var;
DISK_COUNTERS(DISK_COUNTER_DEFINE)
#undef DISK_COUNTER_DEFINE

static u_int disk_pageout(u_int npages);

static void
disk_init(void)
{

	mtx_init(&disk_mtx, "disk");
	vm_page_set_pageout_sim(disk_pageout);
}

static void
disk_lock(void)
{

	pthread_once(&disk_once, disk_init);
	mtx_lock(&disk_mtx);
}

static void
disk_unlock(void)
{

	mtx_unlock(&disk_mtx);
}

static void
disk_page_remove(struct disk_page *dpg)
{

	RB_REMOVE(disk_ptree, &dpg->dpg_obj->do_pages, dpg);
	TAILQ_REMOVE(&disk_lru, dpg, dpg_lru);
	dpg->dpg_obj->do_npages--;
	disk_resident--;
	vm_page_release(dpg->dpg_m);
	SLIST_INSERT_HEAD(&disk_page_zone, dpg, dpg_free);
}

/*
 * Evict up to n least recently used pages; unless wired_too, only pages
 * that the cache alone holds, as FreeBSD's page daemon skips wired pages
 * (vm_pageout_scan_inactive()): evicting a page an mbuf or a pending read
 * holds frees no memory.  Under disk_mtx nobody can wire a page that the
 * cache alone holds (disk_lookup() takes the lock), so the check cannot
 * go stale.  Returns the number evicted.
 */
static u_int
disk_evict_lru(u_int n, bool wired_too)
{
	struct disk_page *dpg, *next;
	u_int freed;

	mtx_assert(&disk_mtx, MA_OWNED);
	freed = 0;
	TAILQ_FOREACH_SAFE(dpg, &disk_lru, dpg_lru, next) {
		if (freed >= n)
			break;
		if (!wired_too && refcount_load(&dpg->dpg_m->refcount) > 1)
			continue;
		disk_page_remove(dpg);
		freed++;
	}
	return (freed);
}

/*
 * Keep the budget: evict least recently used unwired pages first, and
 * only if that is not enough wired ones, which leave the cache but live
 * on in their mbufs until those are freed.  SIM: FreeBSD has no budget,
 * and never takes a wired page out of its object (docs/differences.md).
 */
static void
disk_trim(void)
{
	u_int over;

	mtx_assert(&disk_mtx, MA_OWNED);
	if (disk_resident <= disk_profile.dp_cache_pages)
		return;
	over = disk_resident - disk_profile.dp_cache_pages;
	over -= disk_evict_lru(over, false);
	if (over > 0)
		(void)disk_evict_lru(over, true);
}

/*
 * The page daemon hook of src/vm/vm_page.c: the allocator ran out of
 * pages, free some cached ones whatever the budget.
 */
static u_int
disk_pageout(u_int npages)
{
	u_int freed;

	disk_lock();
	freed = disk_evict_lru(npages, false);
	disk_unlock();
	return (freed);
}

static void
disk_object_rele(struct vm_object *obj)
{

	mtx_assert(&disk_mtx, MA_OWNED);
	MPASS(obj->do_refs > 0);
	if (--obj->do_refs > 0)
		return;
	if (obj->do_fd >= 0) {
		close(obj->do_fd);
		obj->do_fd = -1;
	}
	if (obj->do_dead) {
		MPASS(RB_EMPTY(&obj->do_pages));
		kfree(obj);
	}
}

/*
 * Drop an object from the table and its pages from the cache; references
 * still held keep the object itself alive.
 */
static void
disk_object_evict(struct vm_object *obj)
{
	struct disk_page *dpg, *next;

	mtx_assert(&disk_mtx, MA_OWNED);
	RB_FOREACH_SAFE(dpg, disk_ptree, &obj->do_pages, next)
		disk_page_remove(dpg);
	obj->do_dead = true;
	if (obj->do_refs == 0) {
		MPASS(obj->do_fd < 0);
		kfree(obj);
	}
}

static bool
disk_object_match(const struct vm_object *obj, const struct stat *st)
{

	return (obj->do_dev == st->st_dev && obj->do_ino == st->st_ino &&
	    obj->do_size == st->st_size &&
	    obj->do_mtime.tv_sec == st->st_mtim.tv_sec &&
	    obj->do_mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    obj->do_ctime.tv_sec == st->st_ctim.tv_sec &&
	    obj->do_ctime.tv_nsec == st->st_ctim.tv_nsec);
}

/*
 * The object of this version of the file, or a new one in a free slot, in
 * the slot of an older version of the file, or in slot 0.
 */
static struct vm_object *
disk_object_lookup(const struct stat *st)
{
	struct vm_object *obj;
	int i, victim;

	mtx_assert(&disk_mtx, MA_OWNED);
	victim = 0;
	for (i = 0; i < DISK_NOBJECTS; i++) {
		obj = disk_objects[i];
		if (obj == NULL) {
			victim = i;
			continue;
		}
		if (disk_object_match(obj, st))
			return (obj);
		if (obj->do_dev == st->st_dev && obj->do_ino == st->st_ino)
			victim = i;
	}
	if (disk_objects[victim] != NULL)
		disk_object_evict(disk_objects[victim]);
	obj = kmalloc(sizeof(*obj), M_WAITOK | M_ZERO);
	RB_INIT(&obj->do_pages);
	obj->do_fd = -1;
	obj->do_dev = st->st_dev;
	obj->do_ino = st->st_ino;
	obj->do_size = st->st_size;
	obj->do_mtime = st->st_mtim;
	obj->do_ctime = st->st_ctim;
	disk_objects[victim] = obj;
	return (obj);
}

static int
disk_alloc(int fd, const struct stat *st, struct vm_object **objp)
{
	struct vm_object *obj;

	disk_lock();
	obj = disk_object_lookup(st);
	if (obj->do_fd < 0) {
		obj->do_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (obj->do_fd < 0) {
			disk_unlock();
			return (EBADF);
		}
	}
	obj->do_refs++;
	disk_unlock();
	*objp = obj;
	return (0);
}

static void
disk_dealloc(struct vm_object *obj)
{

	disk_lock();
	disk_object_rele(obj);
	disk_unlock();
}

/*
 * One tree search for the first resident page at or after pindex, then
 * the tree's successors, as vm_page_grab_pages() finds the first page and
 * steps to the next (sys/vm/vm_page.c): a run of resident pages costs one
 * search, not one per page.
 */
static void
disk_lookup(struct vm_object *obj, vm_pindex_t pindex, struct vm_page **pa,
    int count)
{
	struct disk_page key, *dpg;

	disk_lock();
	key.dpg_pindex = pindex;
	dpg = RB_NFIND(disk_ptree, &obj->do_pages, &key);
	for (int i = 0; i < count; i++) {
		if (dpg == NULL || dpg->dpg_pindex != pindex + i) {
			pa[i] = NULL;
			continue;
		}
		TAILQ_REMOVE(&disk_lru, dpg, dpg_lru);
		TAILQ_INSERT_TAIL(&disk_lru, dpg, dpg_lru);
		vm_page_hold(dpg->dpg_m);
		pa[i] = dpg->dpg_m;
		dpg = RB_NEXT(disk_ptree, &obj->do_pages, dpg);
	}
	disk_unlock();
}

/* Make a page that was just read resident, unless one already is. */
static void
disk_page_insert(struct vm_object *obj, vm_pindex_t pindex, struct vm_page *m)
{
	struct disk_page *dpg;

	mtx_assert(&disk_mtx, MA_OWNED);
	if (disk_profile.dp_cache_pages == 0 || obj->do_dead)
		return;
	dpg = SLIST_FIRST(&disk_page_zone);
	if (dpg != NULL)
		SLIST_REMOVE_HEAD(&disk_page_zone, dpg_free);
	else
		dpg = kmalloc(sizeof(*dpg), M_WAITOK | M_ZERO);
	dpg->dpg_obj = obj;
	dpg->dpg_pindex = pindex;
	dpg->dpg_m = m;
	if (RB_INSERT(disk_ptree, &obj->do_pages, dpg) != NULL) {
		/* Another read brought it in first. */
		SLIST_INSERT_HEAD(&disk_page_zone, dpg, dpg_free);
		return;
	}
	vm_page_hold(m);
	TAILQ_INSERT_TAIL(&disk_lru, dpg, dpg_lru);
	obj->do_npages++;
	disk_resident++;
	disk_trim();
}

/* Uniform in [0, n]; the modulo bias is below 2^-40 for n < 2^24. */
static uint64_t
disk_draw(uint64_t n)
{
	uint64_t r;

	arc4rand(&r, sizeof(r), 0);
	return (n == UINT64_MAX ? r : r % (n + 1));
}

static uint64_t
disk_delay(const struct disk_profile *dp)
{
	uint64_t delay;

	delay = dp->dp_latency_ns;
	if (dp->dp_jitter_ns > 0)
		delay += disk_draw(dp->dp_jitter_ns);
	if (dp->dp_reorder_pct > 0 && disk_draw(99) < dp->dp_reorder_pct)
		delay += dp->dp_reorder_ns;
	return (delay);
}

/*
 * Read the run's pages from the file: one preadv(2) per DISK_READ_IOV pages
 * rather than one pread(2) per page, as the vnode pager issues one I/O for
 * the whole run (sys/vm/vnode_pager.c vnode_pager_generic_getpages()).  Past
 * EOF a page reads as zeros, as the pager fills it.  0 or EIO.
 */
static int
disk_read_run(int fd, vm_pindex_t pindex, struct vm_page **pa, int count)
{
	struct iovec iov[DISK_READ_IOV];
	size_t got, total, skip;
	ssize_t n;
	int first, i, niov;

	total = (size_t)count * PAGE_SIZE;
	skip = 0;
	got = 0;
	while (got < total) {
		first = (int)(got / PAGE_SIZE);
		skip = got % PAGE_SIZE;
		niov = 0;
		for (i = first; i < count && niov < DISK_READ_IOV; i++) {
			iov[niov].iov_base = (uint8_t *)vm_page_data(pa[i]) +
			    (i == first ? skip : 0);
			iov[niov].iov_len = PAGE_SIZE - (i == first ? skip : 0);
			niov++;
		}
		n = preadv(fd, iov, niov, (off_t)(pindex * PAGE_SIZE + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (EIO);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	for (; got < total; got += PAGE_SIZE - skip) {
		skip = got % PAGE_SIZE;
		memset((uint8_t *)vm_page_data(pa[got / PAGE_SIZE]) + skip, 0,
		    PAGE_SIZE - skip);
	}
	return (0);
}

/* The disk's interrupt: read the run, make it resident, complete. */
static void
disk_read_task(void *arg)
{
	struct disk_read *rd = arg;
	struct vm_object *obj = rd->dr_obj;
	struct vm_page **pa;
	pgo_getpages_iodone_t *iodone;
	void *ioarg;
	int count, error;

	error =
	    disk_read_run(obj->do_fd, rd->dr_pindex, rd->dr_pa, rd->dr_count);

	disk_lock();
	if (error == 0) {
		for (int i = 0; i < rd->dr_count; i++)
			disk_page_insert(obj, rd->dr_pindex + i, rd->dr_pa[i]);
	} else
		counter_u64_add(disk_errors, 1);
	if (rd != TAILQ_FIRST(&disk_pending))
		counter_u64_add(disk_overtaken, 1);
	TAILQ_REMOVE(&disk_pending, rd, dr_link);
	disk_object_rele(obj);
	disk_unlock();

	iodone = rd->dr_iodone;
	ioarg = rd->dr_arg;
	pa = rd->dr_pa;
	count = rd->dr_count;
	kfree(rd);
	iodone(ioarg, pa, count, error);
}

static void
disk_getpages_async(struct vm_object *obj, vm_pindex_t pindex,
    struct vm_page **pa, int count, pgo_getpages_iodone_t *iodone, void *arg)
{
	struct disk_read *rd;
	uint64_t delay;

	MPASS(count > 0);
	rd = kmalloc(sizeof(*rd), M_WAITOK | M_ZERO);
	rd->dr_obj = obj;
	rd->dr_pindex = pindex;
	rd->dr_pa = pa;
	rd->dr_count = count;
	rd->dr_iodone = iodone;
	rd->dr_arg = arg;
	disk_lock();
	/* The caller's reference keeps do_fd open until now. */
	MPASS(obj->do_refs > 0 && obj->do_fd >= 0);
	obj->do_refs++;
	TAILQ_INSERT_TAIL(&disk_pending, rd, dr_link);
	disk_unlock();
	counter_u64_add(v_vnodein, 1);
	counter_u64_add(v_vnodepgsin, count);
	delay = disk_delay(&disk_profile);
	if (delay == 0 && disk_profile.dp_sync)
		disk_read_task(rd);
	else
		platform->pl_task_post(platform, delay, disk_read_task, rd);
}

const struct pagerops disk_pagerops = {
	.pgo_alloc = disk_alloc,
	.pgo_dealloc = disk_dealloc,
	.pgo_lookup = disk_lookup,
	.pgo_getpages_async = disk_getpages_async,
};

void
disk_cache_flush(void)
{

	disk_lock();
	for (int i = 0; i < DISK_NOBJECTS; i++) {
		if (disk_objects[i] == NULL)
			continue;
		disk_object_evict(disk_objects[i]);
		disk_objects[i] = NULL;
	}
	disk_unlock();
}

u_int
disk_cache_resident(void)
{
	u_int n;

	disk_lock();
	n = disk_resident;
	disk_unlock();
	return (n);
}

void
disk_counters_get(struct disk_counters *dc)
{

#define DISK_COUNTER_GET(var, name, descr) dc->var = counter_u64_fetch(var);
	DISK_COUNTERS(DISK_COUNTER_GET)
#undef DISK_COUNTER_GET
}

void
disk_counters_foreach(void (*fn)(void *, const char *, const char *, uint64_t),
    void *arg)
{

#define DISK_COUNTER_VISIT(var, name, descr) \
	fn(arg, name, descr, counter_u64_fetch(var));
	DISK_COUNTERS(DISK_COUNTER_VISIT)
#undef DISK_COUNTER_VISIT
}
