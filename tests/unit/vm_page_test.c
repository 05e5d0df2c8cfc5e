/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for the page allocator (src/vm/vm_page.c): frames carved
 * from 2 MiB segments, the free list reusing them, the page limit with
 * the page daemon hook and the sleep for a free page (vm_wait()), the
 * way out of a sleep in which nothing is freed, on a fake platform and on the
 * real-time runner's threads, and that draining unmaps every unused segment
 * (run under ASan, a segment structure left behind is a leak, and a freed frame
 * is poisoned).
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sys/kern_compat.h"
#include "sim/runner/runner.h"
#include "vm/vm_page.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define NHELD (2 * VM_PHYS_SEG_PAGES + 8)

static struct {
	struct platform pl;
	int sleeps, wakeups;
	/* What a "sleep" does: free this page, as another thread would. */
	struct vm_page *on_sleep;
	/* What the page daemon frees, if anything. */
	struct vm_page *on_pageout;
	int pageouts;
} fake;

static int
fake_sleep(struct platform *pl, void *chan, struct mtx *m, uint64_t timo)
{
	struct vm_page *pg;

	(void)pl;
	(void)chan;
	(void)timo;
	fake.sleeps++;
	/* Nothing to free: the sleep times out (EWOULDBLOCK). */
	if (fake.on_sleep == NULL)
		return (EWOULDBLOCK);
	pg = fake.on_sleep;
	fake.on_sleep = NULL;
	mtx_unlock(m);
	vm_page_release(pg);
	mtx_lock(m);
	return (0);
}

static void
fake_wakeup(struct platform *pl, void *chan)
{

	(void)pl;
	(void)chan;
	fake.wakeups++;
}

static u_int
fake_pageout(u_int npages)
{
	struct vm_page *pg;

	assert_true(npages > 0);
	fake.pageouts++;
	pg = fake.on_pageout;
	if (pg == NULL)
		return (0);
	fake.on_pageout = NULL;
	vm_page_release(pg);
	return (1);
}

static int
setup(void **state)
{
	struct vm_page_stats vs;

	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.pl.pl_name = "fake";
	fake.pl.pl_sleep = fake_sleep;
	fake.pl.pl_wakeup = fake_wakeup;
	platform_set(&fake.pl);
	vm_page_drain_sim();
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, 0);
	assert_int_equal(vs.vs_segs, 0);
	return (0);
}

static int
teardown(void **state)
{
	struct vm_page_stats vs;

	(void)state;
	vm_page_set_limit_sim(0);
	vm_page_set_pageout_sim(NULL);
	vm_page_drain_sim();
	vm_page_stats_sim(&vs);
	/* Every page the case took was given back, every segment unmapped. */
	assert_int_equal(vs.vs_inuse, 0);
	assert_int_equal(vs.vs_free, 0);
	assert_int_equal(vs.vs_segs, 0);
	platform_set(NULL);
	return (0);
}

static struct vm_page *held[NHELD];

/*
 * Pages come from one 2 MiB segment in address order, page-aligned, until
 * it is used up; then a second segment is mapped, and a third.
 */
static void
test_carve(void **state)
{
	struct vm_page_stats vs;
	uint8_t *base;

	(void)state;
	for (int i = 0; i < NHELD; i++) {
		held[i] = vm_page_alloc_sim();
		assert_int_equal(held[i]->refcount, 1);
		/* Writable, all of it. */
		memset(vm_page_data(held[i]), i & 0xff, PAGE_SIZE);
	}
	for (int s = 0; s < 3; s++) {
		base = vm_page_data(held[s * VM_PHYS_SEG_PAGES]);
		assert_int_equal((uintptr_t)base % PAGE_SIZE, 0);
		for (int i = 1;
		     i < VM_PHYS_SEG_PAGES && s * VM_PHYS_SEG_PAGES + i < NHELD;
		     i++)
			assert_ptr_equal(vm_page_data(
					     held[s * VM_PHYS_SEG_PAGES + i]),
			    base + (size_t)i * PAGE_SIZE);
	}
	/* No page was handed out twice: each kept its own fill. */
	for (int i = 0; i < NHELD; i++)
		assert_int_equal(vm_page_data(held[i])[PAGE_SIZE - 1],
		    i & 0xff);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_segs, 3);
	assert_int_equal(vs.vs_inuse, NHELD);
	assert_int_equal(vs.vs_free, 3 * VM_PHYS_SEG_PAGES - NHELD);

	/* Draining keeps segments with pages in use. */
	vm_page_drain_sim();
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_segs, 3);
	for (int i = 0; i < NHELD; i++)
		vm_page_release(held[i]);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, 0);
	assert_int_equal(vs.vs_free, 3 * VM_PHYS_SEG_PAGES);
}

/*
 * A freed frame is reused before any new one, no new segment is mapped
 * for it, and only the last reference frees it.
 */
static void
test_reuse(void **state)
{
	struct vm_page *a, *b, *c;
	struct vm_page_stats vs;
	uint8_t *data;

	(void)state;
	a = vm_page_alloc_sim();
	b = vm_page_alloc_sim();
	data = vm_page_data(b);
	vm_page_hold(b);
	vm_page_release(b);
	c = vm_page_alloc_sim();
	assert_ptr_not_equal(c, b); /* b still had a reference */
	vm_page_release(b);
#ifdef TEST_ASAN
	/* Free: touching it is reported as a use after free. */
	assert_true(__asan_address_is_poisoned(data));
	assert_true(__asan_address_is_poisoned(data + PAGE_SIZE - 1));
#endif
	assert_ptr_equal(vm_page_alloc_sim(), b);
	assert_ptr_equal(vm_page_data(b), data);
#ifdef TEST_ASAN
	assert_false(__asan_address_is_poisoned(data));
#endif
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_segs, 1);
	assert_int_equal(vs.vs_inuse, 3);
	vm_page_release(a);
	vm_page_release(b);
	vm_page_release(c);
}

/*
 * At the limit, an allocation first asks the page daemon hook; a page it
 * frees is reused at once, without sleeping.
 */
static void
test_limit_pageout(void **state)
{
	struct vm_page_stats vs;
	struct vm_page *pg;

	(void)state;
	vm_page_set_limit_sim(4);
	vm_page_set_pageout_sim(fake_pageout);
	for (int i = 0; i < 4; i++)
		held[i] = vm_page_alloc_sim();
	assert_int_equal(fake.pageouts, 0);
	fake.on_pageout = held[2];
	pg = vm_page_alloc_sim();
	assert_ptr_equal(pg, held[2]);
	held[2] = pg;
	assert_int_equal(fake.pageouts, 1);
	assert_int_equal(fake.sleeps, 0);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, 4);
	assert_int_equal(vs.vs_reclaimed, 1);
	assert_int_equal(vs.vs_waits, 0);
	for (int i = 0; i < 4; i++)
		vm_page_release(held[i]);
}

/*
 * At the limit with nothing to reclaim, an allocation sleeps until a page
 * is freed and takes it: it neither fails nor exceeds the limit.
 */
static void
test_limit_wait(void **state)
{
	struct vm_page_stats vs0, vs;
	struct vm_page *pg;

	(void)state;
	vm_page_stats_sim(&vs0);
	vm_page_set_limit_sim(3);
	vm_page_set_pageout_sim(fake_pageout);
	for (int i = 0; i < 3; i++)
		held[i] = vm_page_alloc_sim();
	fake.on_sleep = held[1];
	pg = vm_page_alloc_sim();
	assert_ptr_equal(pg, held[1]);
	held[1] = pg;
	assert_int_equal(fake.sleeps, 1);
	/* The page daemon was asked first and had nothing. */
	assert_int_equal(fake.pageouts, 1);
	/* The free that ended the sleep woke the sleeper. */
	assert_int_equal(fake.wakeups, 1);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_waits - vs0.vs_waits, 1);
	assert_int_equal(vs.vs_inuse, 3);
	for (int i = 0; i < 3; i++)
		vm_page_release(held[i]);
	/* Nobody sleeps now: no more wakeups. */
	assert_int_equal(fake.wakeups, 1);
}

/*
 * A sleep that times out without any page freed is taken for a deadlock:
 * the page comes from beyond the limit, and the next free brings the
 * count back under it.
 */
static void
test_limit_stall(void **state)
{
	struct vm_page_stats vs0, vs;
	struct vm_page *pg;

	(void)state;
	vm_page_stats_sim(&vs0);
	vm_page_set_limit_sim(2);
	held[0] = vm_page_alloc_sim();
	held[1] = vm_page_alloc_sim();
	pg = vm_page_alloc_sim();
	assert_int_equal(fake.sleeps, 1);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_overcommit - vs0.vs_overcommit, 1);
	assert_int_equal(vs.vs_inuse, 3);
	vm_page_release(pg);
	/* Back at the limit: the next one sleeps again. */
	fake.on_sleep = held[0];
	pg = vm_page_alloc_sim();
	assert_int_equal(fake.sleeps, 2);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_overcommit - vs0.vs_overcommit, 1);
	vm_page_release(pg);
	vm_page_release(held[1]);
}

/*
 * Several pages at once: distinct, one reference each, counted in use;
 * given back at once, only the last reference frees a page, and a NULL
 * slot is passed over.
 */
static void
test_npages(void **state)
{
	struct vm_page *ma[6], *rel[7];
	struct vm_page_stats vs0, vs;

	(void)state;
	vm_page_stats_sim(&vs0);
	vm_page_alloc_npages_sim(ma, 6);
	for (int i = 0; i < 6; i++) {
		assert_non_null(ma[i]);
		assert_int_equal(ma[i]->refcount, 1);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(ma[i], ma[j]);
	}
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, vs0.vs_inuse + 6);
	vm_page_hold(ma[2]);
	memcpy(rel, ma, sizeof(ma));
	rel[6] = NULL;
	vm_page_release_npages_sim(rel, 7);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, vs0.vs_inuse + 1);
	assert_int_equal(ma[2]->refcount, 1);
	/* The freed ones are reused before a new frame is carved. */
	held[0] = vm_page_alloc_sim();
	assert_true(held[0] != ma[2]);
	for (int i = 0; i < 6 && held[0] != ma[i]; i++)
		assert_true(i < 5);
	vm_page_release(held[0]);
	vm_page_release(ma[2]);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, vs0.vs_inuse);
}

/*
 * At the limit the pages beyond it come one at a time, through the page
 * daemon and the sleep for a free page, as vm_page_alloc_sim()'s do; the
 * limit is never exceeded.
 */
static void
test_npages_limit(void **state)
{
	struct vm_page *ma[3];
	struct vm_page_stats vs0, vs;

	(void)state;
	vm_page_stats_sim(&vs0);
	vm_page_set_limit_sim(4);
	vm_page_set_pageout_sim(fake_pageout);
	held[0] = vm_page_alloc_sim();
	held[1] = vm_page_alloc_sim();
	/* Two fit; the third waits for the page daemon to free held[1]. */
	fake.on_pageout = held[1];
	vm_page_alloc_npages_sim(ma, 3);
	assert_int_equal(fake.pageouts, 1);
	assert_ptr_equal(ma[2], held[1]);
	vm_page_stats_sim(&vs);
	assert_int_equal(vs.vs_inuse, 4);
	assert_int_equal(vs.vs_overcommit, vs0.vs_overcommit);
	vm_page_release_npages_sim(ma, 3);
	vm_page_release(held[0]);
}

/* On the real-time runner: a thread sleeps until another frees a page. */
struct waiter {
	struct vm_page *pg;
	bool done;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->pg = vm_page_alloc_sim();
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return (NULL);
}

static void
test_limit_wait_threads(void **state)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct vm_page_stats vs0, vs;
	struct platform *pl;
	struct waiter w = { 0 };
	pthread_t t;

	(void)state;
	pl = sim_rt_create(1);
	assert_non_null(pl);
	platform_set(pl);
	vm_page_stats_sim(&vs0);
	vm_page_set_limit_sim(2);
	held[0] = vm_page_alloc_sim();
	held[1] = vm_page_alloc_sim();
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	/* Until the sleep is seen, and a little longer: still waiting. */
	do {
		vm_page_stats_sim(&vs);
	} while (vs.vs_waits == vs0.vs_waits && nanosleep(&ts, NULL) == 0);
	nanosleep(&ts, NULL);
	assert_false(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
	vm_page_release(held[0]);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(w.done);
	assert_ptr_equal(w.pg, held[0]);
	vm_page_release(w.pg);
	vm_page_release(held[1]);
	vm_page_set_limit_sim(0);
	sim_rt_destroy(pl);
	platform_set(&fake.pl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_carve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_pageout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit_wait, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit_stall, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit_wait_threads, setup,
		    teardown),
		/* After the cases that read vs_reclaimed from zero. */
		cmocka_unit_test_setup_teardown(test_npages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_npages_limit, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
