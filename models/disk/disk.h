/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The disk model: the VM objects, page cache and pager behind sendfile(2),
 * that is the struct pagerops of src/vm/vm_pager.h.  Both runners install
 * it as platform->pl_pager; tests and programs tune it through the
 * profile below.  docs/differences.md says how it differs from FreeBSD's
 * VM and vnode pager.
 */

#ifndef _MODELS_DISK_DISK_H_
#define _MODELS_DISK_DISK_H_

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

struct pagerops;

/*
 * How the disk behaves.  Each read completes after
 *
 *	dp_latency_ns + uniform [0, dp_jitter_ns]
 *	    (+ dp_reorder_ns for a dp_reorder_pct percent share of reads)
 *
 * with both draws from the platform's RNG (arc4rand(9)), so that the
 * deterministic runner replays them from its seed; a profile without
 * jitter and reorder draws nothing.  Jitter and reorder let a read
 * complete before one issued earlier: held back by dp_reorder_ns, a read
 * is overtaken by those issued during that time.  (The deterministic
 * runner's random policy already runs pending reads in any order, late;
 * the profile makes the FIFO policy and the real-time runner reorder too.)
 */
struct disk_profile {
	uint64_t dp_latency_ns;
	uint64_t dp_jitter_ns;
	u_int dp_reorder_pct; /* 0 .. 100 */
	uint64_t dp_reorder_ns;
	/* Page-cache budget in pages, LRU-trimmed; 0 makes every page a read.
	 */
	u_int dp_cache_pages;
	/*
	 * A read the profile gives no delay completes in the caller:
	 * pgo_getpages_async() reads the pages and calls iodone before it
	 * returns, as FreeBSD's vop_stdgetpages_async() (sys/kern/
	 * vfs_default.c) does for a file system without an asynchronous
	 * getpages of its own.  Otherwise (the default) every read completes
	 * in the disk's interrupt, a platform task, as UFS's do
	 * (vnode_pager_local_getpages_async()).
	 */
	bool dp_sync;
};

/* No delay, no reordering, 16384 pages (64 MiB) of cache, reads in tasks. */
extern const struct disk_profile disk_profile_default;
/*
 * The profile in force, read at each read and each page put in the cache.
 * Change it only while no sendfile(2) runs (between test cases, before a
 * program starts sending).
 */
extern struct disk_profile disk_profile;

/* The pager (src/vm/vm_pager.h) that the runners install. */
extern const struct pagerops disk_pagerops;

/*
 * Drop every cached page and forget every file (tests that want a cold
 * cache, or a new file that might reuse an old one's identity).
 */
void disk_cache_flush(void);
/* Pages the cache holds now. */
u_int disk_cache_resident(void);

/*
 * The disk's counters, each defined by its counter_u64_t variable in
 * disk.c, its sysctl name and what it counts, as `sysctl -d` would tell.
 * The first two are FreeBSD's own vnode pager counts (struct vmmeter,
 * sys/sys/vmmeter.h, raised in vnode_pager_generic_getpages() and shown
 * by sys/vm/vm_meter.c under vm.stats.vm); the others exist only here.
 * They count from program start.
 */
#define DISK_COUNTERS(X)                                           \
	X(v_vnodein, "vm.stats.vm.v_vnodein",                      \
	    "Reads the pager issued (pgo_getpages_async() calls)") \
	X(v_vnodepgsin, "vm.stats.vm.v_vnodepgsin",                \
	    "Pages those reads asked for")                         \
	X(disk_overtaken, "sim.disk.overtaken",                    \
	    "Reads that completed before one issued earlier")      \
	X(disk_errors, "sim.disk.errors", "Reads that failed (EIO)")

/* The counters' values at one moment (disk_counters_get()). */
struct disk_counters {
#define DISK_COUNTER_FIELD(var, name, descr) uint64_t var;
	DISK_COUNTERS(DISK_COUNTER_FIELD)
#undef DISK_COUNTER_FIELD
};
void disk_counters_get(struct disk_counters *dc);
/* Visit every counter: its sysctl name, its description and its value. */
void disk_counters_foreach(void (*fn)(void *arg, const char *name,
			       const char *descr, uint64_t value),
    void *arg);

#endif /* !_MODELS_DISK_DISK_H_ */
