/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * An LD_PRELOAD shim for tests/interop/hostile_test.sh: it makes the race
 * between sim_server's stat() of a served name and its open() happen every
 * time.  Just before the real open() of a path that ends in
 * $FIFO_SWAP_NAME, the name is atomically replaced by a FIFO (a hard link
 * to $FIFO_SWAP_FIFO renamed over it); just after, by the regular file
 * $FIFO_SWAP_FILE again.  A server that opens without O_NONBLOCK blocks in
 * that open() until a writer appears, and with it the whole event loop.
 */

/* Both names are defined here: keep <fcntl.h> from renaming open(). */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int open_fn(const char *, int, ...);

static void
swap_to(const char *src, const char *name)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.swap", name);
	(void)unlink(tmp);
	if (link(src, tmp) == 0 && rename(tmp, name) != 0)
		(void)unlink(tmp);
}

static int
swap_open(const char *fn, const char *path, int flags, mode_t mode)
{
	const char *name, *fifo, *file;
	open_fn *real;
	size_t nl, pl;
	int fd;

	real = (open_fn *)dlsym(RTLD_NEXT, fn);
	name = getenv("FIFO_SWAP_NAME");
	fifo = getenv("FIFO_SWAP_FIFO");
	file = getenv("FIFO_SWAP_FILE");
	if (name == NULL || fifo == NULL || file == NULL || path == NULL)
		return (real(path, flags, mode));
	nl = strlen(name);
	pl = strlen(path);
	if (pl < nl || strcmp(path + pl - nl, name) != 0)
		return (real(path, flags, mode));
	swap_to(fifo, path);
	fd = real(path, flags, mode);
	swap_to(file, path);
	return (fd);
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
	va_end(ap);
	return (swap_open("open", path, flags, mode));
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
	va_end(ap);
	return (swap_open("open64", path, flags, mode));
}
