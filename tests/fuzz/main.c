/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Corpus replay driver for builds without a fuzzing engine (BIND 9's
 * fuzz/main.c).  Every argument is a file or a directory; each regular
 * file (a directory's files in name order) is passed once to
 * LLVMFuzzerTestOneInput().  With no arguments the input is read from
 * standard input, which is what afl-fuzz feeds an afl-clang-fast build.
 * A harness that finds a problem abort()s, so the exit status tells, and
 * the input it was replaying is named then (crash_name()).  The last line
 * gives the count and the rate (inputs/s; docs/fuzzing.md).
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Read all of fd with read(2) into a buffer kept from one input to the
 * next (stdio cost a tenth of a fast harness's replay in system calls),
 * and return a copy of exactly its size, as libFuzzer hands over its
 * inputs, so that ASan sees a read past the end.  NULL (errno set) on a
 * read error.
 */
static uint8_t *
read_input(int fd, size_t *lenp)
{
	static uint8_t *rbuf;
	static size_t rcap;
	uint8_t *buf;
	size_t len;
	ssize_t n;

	len = 0;
	for (;;) {
		if (len == rcap) {
			rcap = rcap ? rcap * 2 : 65536;
			rbuf = realloc(rbuf, rcap);
			if (rbuf == NULL)
				abort();
		}
		n = read(fd, rbuf + len, rcap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (NULL);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, rbuf, len);
	*lenp = len;
	return (buf);
}

/*
 * The input being replayed, named only if the harness crashes: a line per
 * input on stderr cost a sixth of fuzz_ops's replay time.
 */
static char crash_path[4096];
static size_t crash_pathlen;

static void
crash_name(int sig)
{
	static const char pre[] = "crashed replaying ";

	if (crash_pathlen > 0) {
		(void)!write(STDERR_FILENO, pre, sizeof(pre) - 1);
		(void)!write(STDERR_FILENO, crash_path, crash_pathlen);
		(void)!write(STDERR_FILENO, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
crash_name_install(void)
{
	static const int sigs[] = { SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], crash_name);
}

static int
run_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return (1);
	}
	buf = read_input(fd, &len);
	if (buf == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		close(fd);
		return (1);
	}
	close(fd);
	crash_pathlen = (size_t)snprintf(crash_path, sizeof(crash_path),
	    "%s (%zu bytes)", path, len);
	if (crash_pathlen >= sizeof(crash_path))
		crash_pathlen = sizeof(crash_path) - 1;
	if (getenv("FUZZ_REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay %s\n", crash_path);
	LLVMFuzzerTestOneInput(buf, len);
	crash_pathlen = 0;
	free(buf);
	return (0);
}

/* A directory entry: its name, and its type as readdir(3) told it. */
struct dent {
	char *name;
	unsigned char type;
};

static int
dent_cmp(const void *a, const void *b)
{

	return (strcmp(((const struct dent *)a)->name,
	    ((const struct dent *)b)->name));
}

static int
run_dir(const char *dir, int *nrun)
{
	struct dirent *de;
	struct dent *ents;
	char path[4096];
	size_t n, cap;
	int errors;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		perror(dir);
		return (1);
	}
	ents = NULL;
	n = cap = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ents = realloc(ents, cap * sizeof(*ents));
			if (ents == NULL)
				abort();
		}
		ents[n].name = strdup(de->d_name);
		if (ents[n].name == NULL)
			abort();
		ents[n++].type = de->d_type;
	}
	closedir(d);
	qsort(ents, n, sizeof(*ents), dent_cmp);
	errors = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i].name);
		/* Only what readdir(3) cannot tell costs a stat(2). */
		if (ents[i].type == DT_REG ||
		    ((ents[i].type == DT_UNKNOWN || ents[i].type == DT_LNK) &&
			stat(path, &st) == 0 && S_ISREG(st.st_mode))) {
			errors += run_file(path);
			(*nrun)++;
		}
		free(ents[i].name);
	}
	free(ents);
	return (errors);
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct stat st;
	uint8_t *buf;
	double secs;
	size_t len;
	int errors, nrun;

	if (argc < 2) {
		buf = read_input(STDIN_FILENO, &len);
		if (buf == NULL) {
			perror("standard input");
			return (1);
		}
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		return (0);
	}
	crash_name_install();
	errors = nrun = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			errors++;
		} else if (S_ISDIR(st.st_mode))
			errors += run_dir(argv[i], &nrun);
		else {
			errors += run_file(argv[i]);
			nrun++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr,
	    "%d inputs replayed, %d errors, %.3f s, %.0f inputs/s\n", nrun,
	    errors, secs, secs > 0 ? nrun / secs : 0.0);
	if (nrun == 0) {
		/* An empty corpus is a broken test, not a passing one. */
		fprintf(stderr, "no inputs found\n");
		return (1);
	}
	return (errors != 0 ? 1 : 0);
}
