/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: kernel primitives mapped onto userland.  KASSERT/MPASS abort under
 * INVARIANTS; mtx(9) is a pthread mutex with an owner field so that
 * mtx_assert() proves *this* thread holds it; counter(9) is a relaxed
 * atomic.  Models the pieces of sys/systm.h, sys/mutex.h and sys/counter.h
 * that the KTLS transmit path uses.
 */

#ifndef _SYS_KERN_COMPAT_H_
#define _SYS_KERN_COMPAT_H_

#include <sys/cdefs.h>
#include <sys/types.h>
#include <sys/endian.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/platform.h"

#ifndef _KERNEL
#define _KERNEL
#endif

#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

#ifndef EDOOFUS
#define EDOOFUS 88
#endif
#ifndef ENOTCAPABLE
#define ENOTCAPABLE 93
#endif

void panic(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

#ifdef INVARIANTS
#define KASSERT(exp, msg)                        \
	do {                                     \
		if (__builtin_expect(!(exp), 0)) \
			panic msg;               \
	} while (0)
#else
#define KASSERT(exp, msg) \
	do {              \
	} while (0)
#endif
#define MPASS(ex) \
	KASSERT((ex), ("Assertion %s failed at %s:%d", #ex, __FILE__, __LINE__))

#define __predict_true(exp) __builtin_expect((exp), 1)
#define __predict_false(exp) __builtin_expect((exp), 0)

#ifndef nitems
#define nitems(x) (sizeof((x)) / sizeof((x)[0]))
#endif
#ifndef min
#define min(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif
#ifndef howmany
#define howmany(x, y) (((x) + ((y)-1)) / (y))
#endif
#ifndef rounddown
#define rounddown(x, y) (((x) / (y)) * (y))
#endif
#ifndef roundup2
#define roundup2(x, y) (((x) + ((y)-1)) & (~((y)-1)))
#endif
#define trunc_page(x) ((x) & ~((uint64_t)PAGE_SIZE - 1))

#ifndef PAGE_SIZE
#define PAGE_SIZE 4096
#endif
#define PAGE_MASK (PAGE_SIZE - 1)

/* mtx(9) */
struct mtx {
	pthread_mutex_t mtx_lock;
	pthread_t mtx_owner;
	volatile int mtx_owned;
	const char *mtx_name;
};

#define MA_OWNED 1
#define MA_NOTOWNED 2

void mtx_init(struct mtx *m, const char *name);
void mtx_destroy(struct mtx *m);
void mtx_lock(struct mtx *m);
void mtx_unlock(struct mtx *m);
bool mtx_owned(struct mtx *m);
/*
 * SIM: pthread_cond_(timed)wait on m that keeps the owner bookkeeping
 * right; returns 0 or EWOULDBLOCK on time-out.  For platform runners.
 */
struct timespec;
int mtx_cond_wait(pthread_cond_t *cv, struct mtx *m,
    const struct timespec *abs);
#ifdef INVARIANTS
#define mtx_assert(m, what)                              \
	KASSERT(((what) == MA_OWNED) == mtx_owned(m),    \
	    ("mutex %s %sowned at %s:%d", (m)->mtx_name, \
		(what) == MA_OWNED ? "not " : "", __FILE__, __LINE__))
#else
#define mtx_assert(m, what) \
	do {                \
	} while (0)
#endif

/* msleep(9)/wakeup(9) through the platform. */
static inline int
msleep(void *chan, struct mtx *m, uint64_t timo_ns)
{

	return (platform->pl_sleep(platform, chan, m, timo_ns));
}

static inline void
wakeup(void *chan)
{

	platform->pl_wakeup(platform, chan);
}

/* counter(9) */
typedef uint64_t counter_u64_t;
#define counter_u64_add(c, v) __atomic_add_fetch(&(c), (v), __ATOMIC_RELAXED)
#define counter_u64_fetch(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)
#define counter_u64_zero(c) __atomic_store_n(&(c), 0, __ATOMIC_RELAXED)

/*
 * SIM: where data really moves, by the byte (docs/cost-model.md, "What
 * the simulator counts").  FreeBSD keeps no such counters; each entry is
 * one counter_u64_t, its leaf under "sim.cost" (a name no FreeBSD sysctl
 * uses) and what it counts.  kern_compat.c defines them.
 */
#define KSIM_COST_COUNTERS(X)                                             \
	X(ksim_copyin_bytes, "copyin",                                    \
	    "Bytes uiomove() copied from user buffers into the kernel")   \
	X(ksim_copyout_bytes, "copyout",                                  \
	    "Bytes uiomove() copied from the kernel into user buffers")   \
	X(ksim_crypto_read_bytes, "crypto_read",                          \
	    "Plaintext bytes the software cipher read from record pages") \
	X(ksim_crypto_inplace_bytes, "crypto_write_inplace",              \
	    "Ciphertext bytes written over the plaintext's own pages")    \
	X(ksim_crypto_newpage_bytes, "crypto_write_newpages",             \
	    "Ciphertext bytes written to new pages, the plaintext kept")  \
	X(ksim_crypto_framing_bytes, "crypto_write_framing",              \
	    "Header and trailer bytes of the records software encrypted") \
	X(ksim_wire_read_bytes, "wire_read",                              \
	    "Bytes the wire (a NIC's DMA) read out of send buffers")

#define KSIM_COST_DECLARE(var, leaf, descr) extern counter_u64_t var;
KSIM_COST_COUNTERS(KSIM_COST_DECLARE)
#undef KSIM_COST_DECLARE

/* Visit the sim.cost counters: leaf, description, value. */
void ksim_cost_foreach(void (*fn)(void *arg, const char *leaf,
			   const char *descr, uint64_t value),
    void *arg);

/* refcount(9) */
static inline void
refcount_init(volatile u_int *count, u_int value)
{

	__atomic_store_n(count, value, __ATOMIC_RELAXED);
}

static inline void
refcount_acquire(volatile u_int *count)
{

	__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
}

/* Returns true when the last reference was released. */
static inline bool
refcount_release(volatile u_int *count)
{

	return (__atomic_sub_fetch(count, 1, __ATOMIC_ACQ_REL) == 0);
}

static inline u_int
refcount_load(volatile u_int *count)
{

	return (__atomic_load_n(count, __ATOMIC_RELAXED));
}

/*
 * Drop a reference unless it is the last one, in one atomic step: true if
 * it was dropped, false (count untouched) if the caller holds the last.
 */
static inline bool
refcount_release_if_not_last(volatile u_int *count)
{
	u_int old;

	old = __atomic_load_n(count, __ATOMIC_RELAXED);
	for (;;) {
		KASSERT(old > 0, ("refcount %p is 0", (volatile void *)count));
		if (old == 1)
			return (false);
		if (__atomic_compare_exchange_n(count, &old, old - 1, false,
			__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return (true);
	}
}

/*
 * SIM: kmalloc()/kfree() stand in for malloc(9)/free(9) and uma(9) zones:
 * libc's allocator, with no malloc type (M_KTLS) and no zone, under names
 * that do not collide with libc's.  The flags are accepted and ignored
 * but M_ZERO; an M_WAITOK allocation that fails is a simulator bug, so it
 * aborts as the kernel would panic.
 */
#define M_NOWAIT 0x0001
#define M_WAITOK 0x0002
#define M_ZERO 0x0100

void *kmalloc(size_t size, int flags);
void kfree(void *p);
/* zfree(9): zero before freeing (key material). */
void zfree(void *p, size_t size);

#endif /* !_SYS_KERN_COMPAT_H_ */
