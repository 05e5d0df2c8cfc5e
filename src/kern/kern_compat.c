/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: userland stand-ins for panic(9), mtx(9) and malloc(9), and the
 * current platform pointer (sys/platform.h).
 */

#include <stdarg.h>

#include "sys/kern_compat.h"

struct platform *platform;

#define KSIM_COST_DEFINE(var, leaf, descr) counter_u64_t var;
KSIM_COST_COUNTERS(KSIM_COST_DEFINE)
#undef KSIM_COST_DEFINE

void
ksim_cost_foreach(void (*fn)(void *, const char *, const char *, uint64_t),
    void *arg)
{

#define KSIM_COST_VISIT(var, leaf, descr) \
	fn(arg, leaf, descr, counter_u64_fetch(var));
	KSIM_COST_COUNTERS(KSIM_COST_VISIT)
#undef KSIM_COST_VISIT
}

void
platform_set(struct platform *pl)
{

	platform = pl;
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("panic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
mtx_init(struct mtx *m, const char *name)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
#ifdef INVARIANTS
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
#endif
	pthread_mutex_init(&m->mtx_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	m->mtx_owned = 0;
	m->mtx_name = name;
}

void
mtx_destroy(struct mtx *m)
{

	pthread_mutex_destroy(&m->mtx_lock);
}

void
mtx_lock(struct mtx *m)
{
	int error;

	error = pthread_mutex_lock(&m->mtx_lock);
	KASSERT(error == 0, ("mtx_lock %s: %s", m->mtx_name, strerror(error)));
	(void)error;
	m->mtx_owner = pthread_self();
	__atomic_store_n(&m->mtx_owned, 1, __ATOMIC_RELAXED);
}

void
mtx_unlock(struct mtx *m)
{
	int error;

	KASSERT(mtx_owned(m), ("mtx_unlock %s: not owner", m->mtx_name));
	__atomic_store_n(&m->mtx_owned, 0, __ATOMIC_RELAXED);
	error = pthread_mutex_unlock(&m->mtx_lock);
	KASSERT(error == 0,
	    ("mtx_unlock %s: %s", m->mtx_name, strerror(error)));
	(void)error;
}

/*
 * Only the owner can observe mtx_owned set together with its own thread id;
 * another thread may read a stale owner, but then mtx_owned answers for
 * that other thread, never for us.
 */
bool
mtx_owned(struct mtx *m)
{

	return (__atomic_load_n(&m->mtx_owned, __ATOMIC_RELAXED) &&
	    pthread_equal(m->mtx_owner, pthread_self()));
}

int
mtx_cond_wait(pthread_cond_t *cv, struct mtx *m, const struct timespec *abs)
{
	int error;

	KASSERT(mtx_owned(m), ("mtx_cond_wait %s: not owner", m->mtx_name));
	__atomic_store_n(&m->mtx_owned, 0, __ATOMIC_RELAXED);
	if (abs != NULL)
		error = pthread_cond_timedwait(cv, &m->mtx_lock, abs);
	else
		error = pthread_cond_wait(cv, &m->mtx_lock);
	m->mtx_owner = pthread_self();
	__atomic_store_n(&m->mtx_owned, 1, __ATOMIC_RELAXED);
	return (error == ETIMEDOUT ? EWOULDBLOCK : 0);
}

void *
kmalloc(size_t size, int flags)
{
	void *p;

	p = (flags & M_ZERO) ? calloc(1, size) : malloc(size);
	if (p == NULL && (flags & M_WAITOK))
		panic("kmalloc: out of memory (%zu bytes)", size);
	return (p);
}

void
kfree(void *p)
{

	free(p);
}

void
zfree(void *p, size_t size)
{

	if (p == NULL)
		return;
	explicit_bzero(p, size);
	free(p);
}
