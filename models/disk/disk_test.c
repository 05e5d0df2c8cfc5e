/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for the disk model alone (disk.h), through its struct
 * pagerops and a fake platform that records posted tasks, runs them in
 * the order a case chooses and serves arc4rand(9) from a script: the
 * bytes a read brings (zeros past EOF, runs longer than one preadv(2)),
 * reads done in the caller (dp_sync), the delays each profile gives
 * (latency, jitter, reorder) and that the default
 * profile draws no randomness, completion order and the overtaken count, one
 * object per version of a file, the cache budget (which spares wired pages
 * while it can), the page daemon hook the allocator calls at its limit, read
 * errors, that an object holds its own descriptor exactly while it is
 * referenced, and the counters under their sysctl names.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "disk.h"
#include "sys/kern_compat.h"
#include "vm/vm_pager.h"

#define MAXTASKS 64

static struct {
	struct platform pl;
	struct {
		uint64_t delay;
		task_fn_t *fn;
		void *arg;
	} tasks[MAXTASKS];
	int ntasks;
	uint64_t script[MAXTASKS]; /* what arc4rand() returns, in turn */
	int nscript, ndraws;
} fake;

static void
fake_task_post(struct platform *pl, uint64_t delay_ns, task_fn_t *fn, void *arg)
{

	(void)pl;
	assert_true(fake.ntasks < MAXTASKS);
	fake.tasks[fake.ntasks].delay = delay_ns;
	fake.tasks[fake.ntasks].fn = fn;
	fake.tasks[fake.ntasks].arg = arg;
	fake.ntasks++;
}

static void
fake_random(struct platform *pl, void *buf, size_t len)
{

	(void)pl;
	assert_int_equal(len, sizeof(uint64_t));
	assert_true(fake.ndraws < fake.nscript);
	memcpy(buf, &fake.script[fake.ndraws++], len);
}

/* Run posted task i and forget it. */
static void
fake_run(int i)
{
	task_fn_t *fn;
	void *arg;

	assert_true(i < fake.ntasks);
	fn = fake.tasks[i].fn;
	arg = fake.tasks[i].arg;
	memmove(&fake.tasks[i], &fake.tasks[i + 1],
	    (fake.ntasks - i - 1) * sizeof(fake.tasks[0]));
	fake.ntasks--;
	fn(arg);
}

static int
setup(void **state)
{

	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.pl.pl_name = "fake";
	fake.pl.pl_task_post = fake_task_post;
	fake.pl.pl_random = fake_random;
	fake.pl.pl_pager = &disk_pagerops;
	platform_set(&fake.pl);
	disk_profile = disk_profile_default;
	disk_cache_flush();
	return (0);
}

static int
teardown(void **state)
{

	(void)state;
	assert_int_equal(fake.ntasks, 0);
	disk_cache_flush();
	disk_profile = disk_profile_default;
	platform_set(NULL);
	return (0);
}

/* What iodone saw. */
struct done {
	int calls, count, error;
	struct vm_page **pa;
};

static void
iodone(void *arg, struct vm_page **pa, int count, int error)
{
	struct done *d = arg;

	d->calls++;
	d->pa = pa;
	d->count = count;
	d->error = error;
}

/*
 * Byte off of the test files: it differs between pages at the same offset,
 * so a page read into the wrong frame or from the wrong place shows.
 */
static uint8_t
file_byte(size_t off)
{

	return ((uint8_t)(off * 7 + 3 + off / PAGE_SIZE * 11));
}

/* A temporary file of len bytes (file_byte()), open for reading. */
static int
tmpfile_len(size_t len, struct stat *st)
{
	char path[] = "/tmp/ktlsim-disk-XXXXXX";
	uint8_t *buf;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	buf = malloc(len + 1);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = file_byte(i);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	free(buf);
	assert_int_equal(fstat(fd, st), 0);
	return (fd);
}

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n;

	d = opendir("/proc/self/fd");
	assert_non_null(d);
	n = 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
alloc_pages(struct vm_page **pa, int n)
{

	for (int i = 0; i < n; i++)
		pa[i] = vm_page_alloc_sim();
}

/* Read n new pages from pindex on and run the read to completion. */
static void
read_in(struct vm_object *obj, vm_pindex_t pindex, struct vm_page **pa, int n,
    struct done *d)
{

	alloc_pages(pa, n);
	vm_pager_get_pages_async(obj, pindex, pa, n, iodone, d);
	fake_run(0);
}

static void
release_pages(struct vm_page **pa, int n)
{

	for (int i = 0; i < n; i++)
		if (pa[i] != NULL)
			vm_page_release(pa[i]);
}

/*
 * The n pages read from pindex on hold the bytes of a test file of flen
 * bytes, and zeros past its end.
 */
static void
check_pages(struct vm_page **pa, int n, vm_pindex_t pindex, size_t flen)
{
	const uint8_t *p;

	for (int i = 0; i < n; i++) {
		p = vm_page_data(pa[i]);
		for (int j = 0; j < PAGE_SIZE; j++) {
			size_t off = (size_t)(pindex + i) * PAGE_SIZE + j;

			if (p[j] != (off < flen ? file_byte(off) : 0))
				fail_msg("page %d byte %d: %#x", i, j, p[j]);
		}
	}
}

/*
 * Default profile: a read posts one task with no delay and draws nothing;
 * the task fills the pages with the file (zeros past EOF), makes them
 * resident and calls iodone once.  The caller may close its descriptor
 * right after pgo_alloc().
 */
static void
test_read_default(void **state)
{
	struct vm_page *pa[3], *again[4];
	struct vm_object *obj;
	struct done d = { 0 };
	struct stat st;
	int fd;

	(void)state;
	fd = tmpfile_len(2 * PAGE_SIZE + 100, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	close(fd);

	vm_page_grab_pages_sim(obj, 0, again, 4);
	for (int i = 0; i < 4; i++)
		assert_null(again[i]);
	alloc_pages(pa, 3);
	vm_pager_get_pages_async(obj, 0, pa, 3, iodone, &d);
	assert_int_equal(fake.ntasks, 1);
	assert_int_equal(fake.tasks[0].delay, 0);
	assert_int_equal(d.calls, 0);
	fake_run(0);
	assert_int_equal(fake.ndraws, 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.error, 0);
	assert_ptr_equal(d.pa, pa);
	assert_int_equal(d.count, 3);
	check_pages(pa, 3, 0, 2 * PAGE_SIZE + 100);
	assert_int_equal(disk_cache_resident(), 3);

	/* Now resident: the same pages, with a reference each. */
	vm_page_grab_pages_sim(obj, 0, again, 4);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(again[i], pa[i]);
	assert_null(again[3]);
	release_pages(again, 4);
	release_pages(pa, 3);
	vm_object_deallocate(obj);
}

/*
 * A run of more pages than one preadv(2) takes (disk_read_run()), into
 * frames that held other data, ending in a partial page and pages past
 * EOF: every page has its own bytes and the rest reads as zeros, and
 * each is found again at its index, none before or after the run.
 */
static void
test_read_long_run(void **state)
{
	enum { NPG = 2100, FLEN = 2090 * PAGE_SIZE + 1234 };
	struct vm_page **pa, **again;
	struct vm_object *obj;
	struct done d = { 0 };
	struct stat st;
	int fd;

	(void)state;
	pa = calloc(NPG, sizeof(*pa));
	assert_non_null(pa);
	alloc_pages(pa, NPG);
	for (int i = 0; i < NPG; i++)
		memset(vm_page_data(pa[i]), 0xa5, PAGE_SIZE);
	release_pages(pa, NPG);
	fd = tmpfile_len(FLEN, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	read_in(obj, 3, pa, NPG, &d);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.error, 0);
	check_pages(pa, NPG, 3, FLEN);
	assert_int_equal(disk_cache_resident(), NPG);
	again = calloc(NPG + 2, sizeof(*again));
	assert_non_null(again);
	vm_page_grab_pages_sim(obj, 2, again, NPG + 2);
	assert_null(again[0]);
	for (int i = 0; i < NPG; i++)
		assert_ptr_equal(again[i + 1], pa[i]);
	assert_null(again[NPG + 1]);
	release_pages(again, NPG + 2);
	free(again);
	release_pages(pa, NPG);
	free(pa);
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * Two files' pages at the same index are both resident, each found for
 * its own object only.
 */
static void
test_two_files(void **state)
{
	struct vm_page *pa[2], *got[2];
	struct vm_object *obj[2];
	struct done d = { 0 };
	struct stat st;
	int fd[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		fd[i] = tmpfile_len(PAGE_SIZE, &st);
		assert_int_equal(vm_pager_allocate_sim(fd[i], &st, &obj[i]), 0);
		read_in(obj[i], 0, &pa[i], 1, &d);
	}
	assert_int_equal(disk_cache_resident(), 2);
	for (int i = 0; i < 2; i++) {
		vm_page_grab_pages_sim(obj[i], 0, &got[i], 1);
		assert_ptr_equal(got[i], pa[i]);
	}
	release_pages(got, 2);
	release_pages(pa, 2);
	for (int i = 0; i < 2; i++) {
		vm_object_deallocate(obj[i]);
		close(fd[i]);
	}
}

/*
 * dp_sync: a read without delay is done when pgo_getpages_async()
 * returns, with no task posted; one the profile delays still waits for
 * its task.
 */
static void
test_read_sync(void **state)
{
	struct vm_page *pa[2];
	struct vm_object *obj;
	struct done d = { 0 };
	struct stat st;
	int fd;

	(void)state;
	disk_profile.dp_sync = true;
	fd = tmpfile_len(2 * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	alloc_pages(pa, 1);
	vm_pager_get_pages_async(obj, 1, pa, 1, iodone, &d);
	assert_int_equal(fake.ntasks, 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.error, 0);
	check_pages(pa, 1, 1, 2 * PAGE_SIZE);
	assert_int_equal(disk_cache_resident(), 1);

	disk_profile.dp_latency_ns = 1000;
	alloc_pages(pa + 1, 1);
	vm_pager_get_pages_async(obj, 0, pa + 1, 1, iodone, &d);
	assert_int_equal(fake.ntasks, 1);
	assert_int_equal(d.calls, 1);
	fake_run(0);
	assert_int_equal(d.calls, 2);
	check_pages(pa + 1, 1, 0, 2 * PAGE_SIZE);
	release_pages(pa, 2);
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * Script arc4rand() to return draws[0..n), make a file of n pages and
 * issue one single-page read of each page, in page order, into pa[]:
 * each read takes one draw.  Returns the file's descriptor.
 */
static int
read_each_page(const uint64_t *draws, int n, struct vm_object **objp,
    struct vm_page **pa, struct done *d)
{
	struct stat st;
	int fd;

	assert_true(n <= MAXTASKS);
	memcpy(fake.script, draws, n * sizeof(draws[0]));
	fake.nscript = n;
	fd = tmpfile_len((size_t)n * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, objp), 0);
	alloc_pages(pa, n);
	for (int i = 0; i < n; i++)
		vm_pager_get_pages_async(*objp, i, &pa[i], 1, iodone, d);
	return (fd);
}

/* Latency plus jitter, uniform in [0, jitter], from arc4rand(). */
static void
test_latency_jitter(void **state)
{
	static const uint64_t draws[] = { 0, 500, 501, 1002, 250 };
	static const uint64_t want[] = { 1000, 1500, 1000, 1000, 1250 };
	struct vm_page *pa[nitems(draws)];
	struct done d = { 0 };
	struct vm_object *obj;
	int fd;

	(void)state;
	disk_profile.dp_latency_ns = 1000;
	disk_profile.dp_jitter_ns = 500;
	fd = read_each_page(draws, nitems(draws), &obj, pa, &d);
	assert_int_equal(fake.ndraws, nitems(draws));
	for (size_t i = 0; i < nitems(draws); i++)
		assert_int_equal(fake.tasks[i].delay, want[i]);
	while (fake.ntasks > 0)
		fake_run(0);
	assert_int_equal(d.calls, nitems(draws));
	release_pages(pa, nitems(draws));
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * Reorder: a draw below dp_reorder_pct (of 100) holds a read back by
 * dp_reorder_ns.  Completing the reads in reverse counts each but the
 * first issued as overtaking an earlier one.
 */
static void
test_reorder(void **state)
{
	static const uint64_t draws[] = { 49, 50, 149, 99, 0 };
	static const bool held[] = { true, false, true, false, true };
	struct vm_page *pa[nitems(draws)];
	struct disk_counters s0, s1;
	struct done d = { 0 };
	struct vm_object *obj;
	int fd;

	(void)state;
	disk_profile.dp_latency_ns = 10;
	disk_profile.dp_reorder_pct = 50;
	disk_profile.dp_reorder_ns = 7000;
	disk_counters_get(&s0);
	fd = read_each_page(draws, nitems(draws), &obj, pa, &d);
	for (size_t i = 0; i < nitems(draws); i++)
		assert_int_equal(fake.tasks[i].delay, held[i] ? 7010 : 10);
	while (fake.ntasks > 0)
		fake_run(fake.ntasks - 1);
	disk_counters_get(&s1);
	assert_int_equal(s1.v_vnodein - s0.v_vnodein, nitems(draws));
	assert_int_equal(s1.v_vnodepgsin - s0.v_vnodepgsin, nitems(draws));
	assert_int_equal(s1.disk_overtaken - s0.disk_overtaken,
	    nitems(draws) - 1);

	/* In issue order nothing is overtaken; 0 % draws nothing. */
	disk_profile.dp_reorder_pct = 0;
	disk_cache_flush();
	for (size_t i = 0; i < nitems(draws); i++)
		vm_pager_get_pages_async(obj, i, &pa[i], 1, iodone, &d);
	assert_int_equal(fake.ndraws, nitems(draws));
	while (fake.ntasks > 0)
		fake_run(0);
	disk_counters_get(&s0);
	assert_int_equal(s0.disk_overtaken, s1.disk_overtaken);
	release_pages(pa, nitems(draws));
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * One object per version of a file: the same attributes give the same
 * object, a new mtime a new one, and the old version's pages go.
 */
static void
test_object_versions(void **state)
{
	struct vm_object *a, *b, *c;
	struct vm_page *pa[2], *got[2];
	struct timespec ts[2];
	struct done d = { 0 };
	struct stat st;
	int fd;

	(void)state;
	fd = tmpfile_len(2 * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &a), 0);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &b), 0);
	assert_ptr_equal(a, b);
	read_in(a, 0, pa, 2, &d);
	assert_int_equal(disk_cache_resident(), 2);

	ts[0].tv_sec = ts[1].tv_sec = 1234567;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(futimens(fd, ts), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &c), 0);
	assert_ptr_not_equal(a, c);
	assert_int_equal(disk_cache_resident(), 0);
	/* The old object lives on for its holders, with nothing cached. */
	vm_page_grab_pages_sim(a, 0, got, 2);
	assert_null(got[0]);
	assert_null(got[1]);
	vm_page_grab_pages_sim(c, 0, got, 2);
	assert_null(got[0]);
	vm_object_deallocate(a);
	vm_object_deallocate(b);
	vm_object_deallocate(c);
	release_pages(pa, 2);
	close(fd);
}

/* The budget keeps the most recently used pages. */
static void
test_budget(void **state)
{
	struct vm_page *pa[4], *got[4];
	struct done d = { 0 };
	struct vm_object *obj;
	struct stat st;
	int fd;

	(void)state;
	disk_profile.dp_cache_pages = 2;
	fd = tmpfile_len(4 * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	/* Two reads, each page unwired after its read (test_budget_wired). */
	read_in(obj, 0, pa, 2, &d);
	release_pages(pa, 2);
	read_in(obj, 2, pa + 2, 2, &d);
	release_pages(pa + 2, 2);
	assert_int_equal(disk_cache_resident(), 2);
	vm_page_grab_pages_sim(obj, 0, got, 4);
	assert_null(got[0]);
	assert_null(got[1]);
	assert_ptr_equal(got[2], pa[2]);
	assert_ptr_equal(got[3], pa[3]);
	release_pages(got, 4);

	/* Budget 0: nothing stays. */
	disk_profile.dp_cache_pages = 0;
	disk_cache_flush();
	read_in(obj, 0, pa, 4, &d);
	assert_int_equal(disk_cache_resident(), 0);
	release_pages(pa, 4);
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * The budget evicts the pages the cache alone holds first: a page an mbuf
 * still holds (wired) stays resident while unwired ones can go, and
 * leaves the cache only when nothing else can.
 */
static void
test_budget_wired(void **state)
{
	struct vm_page *pa[4], *got[4];
	struct done d = { 0 };
	struct vm_object *obj;
	struct stat st;
	int fd;

	(void)state;
	disk_profile.dp_cache_pages = 4;
	fd = tmpfile_len(8 * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	read_in(obj, 0, pa, 4, &d);
	/* Keep page 0 wired (its reader's reference), drop the others. */
	release_pages(pa + 1, 3);
	disk_profile.dp_cache_pages = 2;
	/*
	 * Page 4 comes in, wired by its reader: 1, 2 and 3 go, the older
	 * wired page 0 stays.
	 */
	read_in(obj, 4, pa + 1, 1, &d);
	assert_int_equal(disk_cache_resident(), 2);
	vm_page_grab_pages_sim(obj, 0, got, 4);
	assert_ptr_equal(got[0], pa[0]);
	assert_null(got[1]);
	assert_null(got[2]);
	assert_null(got[3]);
	release_pages(got, 4);
	vm_page_grab_pages_sim(obj, 4, got, 1);
	assert_ptr_equal(got[0], pa[1]);
	release_pages(got, 1);
	/* Only wired pages left: the least recently used one (0) goes. */
	read_in(obj, 5, pa + 2, 1, &d);
	assert_int_equal(disk_cache_resident(), 2);
	vm_page_grab_pages_sim(obj, 0, got, 1);
	assert_null(got[0]);
	/* Out of the cache, the page lives on for its holder. */
	assert_int_equal(pa[0]->refcount, 1);
	assert_int_equal(vm_page_data(pa[0])[1], file_byte(1));
	release_pages(pa, 3);
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * At the allocator's page limit, vm_page_alloc_sim() takes back the least
 * recently used cached pages that nobody else holds, whatever the
 * budget; a wired one stays.
 */
static void
test_pageout(void **state)
{
	struct vm_page *pa[4], *got[4], *pg;
	struct vm_page_stats vs0, vs;
	struct done d = { 0 };
	struct vm_object *obj;
	struct stat st;
	int fd;

	(void)state;
	fd = tmpfile_len(4 * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	vm_page_stats_sim(&vs0);
	vm_page_set_limit_sim(vs0.vs_inuse + 4);
	read_in(obj, 0, pa, 4, &d);
	assert_int_equal(disk_cache_resident(), 4);
	/* Page 0 stays wired; touch page 1 so that 2 is the LRU unwired. */
	release_pages(pa + 1, 3);
	vm_page_grab_pages_sim(obj, 1, got, 1);
	release_pages(got, 1);
	pg = vm_page_alloc_sim();
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_reclaimed - vs0.vs_reclaimed, 3);
	assert_int_equal(vs.vs_waits, vs0.vs_waits);
	assert_int_equal(vs.vs_inuse, vs0.vs_inuse + 2);
	assert_int_equal(disk_cache_resident(), 1);
	vm_page_grab_pages_sim(obj, 0, got, 4);
	assert_ptr_equal(got[0], pa[0]);
	assert_null(got[1]);
	assert_null(got[2]);
	assert_null(got[3]);
	release_pages(got, 4);
	vm_page_release(pg);
	vm_page_release(pa[0]);
	vm_page_set_limit_sim(0);
	vm_object_deallocate(obj);
	close(fd);
}

/* A read that fails completes with EIO and leaves nothing resident. */
static void
test_read_error(void **state)
{
	struct disk_counters s0, s1;
	struct done d = { 0 };
	struct vm_object *obj;
	struct vm_page *pa[1];
	struct stat st;
	int fd;

	(void)state;
	/* pread(2) of a directory fails (EISDIR). */
	fd = open("/", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	disk_counters_get(&s0);
	read_in(obj, 0, pa, 1, &d);
	disk_counters_get(&s1);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.error, EIO);
	assert_int_equal(s1.disk_errors - s0.disk_errors, 1);
	assert_int_equal(disk_cache_resident(), 0);
	release_pages(pa, 1);
	vm_object_deallocate(obj);
	close(fd);
}

/* What disk_counters_foreach() visits. */
struct visit {
	int n;
	const char *names[8];
	uint64_t values[8];
};

static void
visit_cb(void *arg, const char *name, const char *descr, uint64_t value)
{
	struct visit *v = arg;

	assert_true(v->n < (int)nitems(v->names));
	assert_non_null(descr);
	assert_true(descr[0] != '\0');
	v->names[v->n] = name;
	v->values[v->n++] = value;
}

/*
 * The counters under their sysctl names: a read of three pages is one
 * v_vnodein and three v_vnodepgsin, as vnode_pager_generic_getpages()
 * counts them; the visit and the snapshot agree.
 */
static void
test_counters(void **state)
{
	static const char *const names[] = { "vm.stats.vm.v_vnodein",
		"vm.stats.vm.v_vnodepgsin", "sim.disk.overtaken",
		"sim.disk.errors" };
	struct disk_counters c0, c1;
	struct visit v = { 0 };
	struct done d = { 0 };
	struct vm_page *pa[3];
	struct vm_object *obj;
	struct stat st;
	int fd;

	(void)state;
	fd = tmpfile_len(3 * PAGE_SIZE, &st);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &obj), 0);
	disk_counters_get(&c0);
	read_in(obj, 0, pa, 3, &d);
	assert_int_equal(d.error, 0);
	disk_counters_get(&c1);
	assert_int_equal(c1.v_vnodein - c0.v_vnodein, 1);
	assert_int_equal(c1.v_vnodepgsin - c0.v_vnodepgsin, 3);
	assert_int_equal(c1.disk_overtaken, c0.disk_overtaken);
	assert_int_equal(c1.disk_errors, c0.disk_errors);

	disk_counters_foreach(visit_cb, &v);
	assert_int_equal(v.n, nitems(names));
	for (size_t i = 0; i < nitems(names); i++)
		assert_string_equal(v.names[i], names[i]);
	assert_int_equal(v.values[0], c1.v_vnodein);
	assert_int_equal(v.values[1], c1.v_vnodepgsin);
	assert_int_equal(v.values[2], c1.disk_overtaken);
	assert_int_equal(v.values[3], c1.disk_errors);
	release_pages(pa, 3);
	vm_object_deallocate(obj);
	close(fd);
}

/*
 * An object holds one descriptor while referenced, by callers or by a
 * pending read, and none in the table alone; a bad descriptor is EBADF.
 */
static void
test_object_descriptor(void **state)
{
	struct vm_object *a, *b;
	struct done d = { 0 };
	struct vm_page *pa[1];
	struct stat st;
	int fd, n0;

	(void)state;
	fd = tmpfile_len(PAGE_SIZE, &st);
	n0 = count_fds();
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &a), 0);
	assert_int_equal(count_fds(), n0 + 1);
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &b), 0);
	assert_int_equal(count_fds(), n0 + 1);
	alloc_pages(pa, 1);
	vm_pager_get_pages_async(a, 0, pa, 1, iodone, &d);
	vm_object_deallocate(a);
	vm_object_deallocate(b);
	/* The pending read still holds it. */
	assert_int_equal(count_fds(), n0 + 1);
	fake_run(0);
	assert_int_equal(d.error, 0);
	assert_int_equal(count_fds(), n0);
	release_pages(pa, 1);
	close(fd);

	/* A descriptor that is not open. */
	st.st_ino++;
	assert_int_equal(vm_pager_allocate_sim(fd, &st, &a), EBADF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_default, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_long_run, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_sync, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_latency_jitter, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_versions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_wired, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pageout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_object_descriptor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
