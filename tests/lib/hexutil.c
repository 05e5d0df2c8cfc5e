/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test helpers: hex decoding, a deterministic RNG, running a built tool.
 */

#include <sys/wait.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hexutil.h"

uint8_t *
hex2buf(const char *hex, size_t *len)
{
	char *clean;
	uint8_t *buf, *out;
	size_t i, n;
	long blen;

	n = strlen(hex);
	clean = malloc(n + 1);
	if (clean == NULL)
		return (NULL);
	for (i = 0, n = 0; hex[i] != '\0'; i++) {
		if (isspace((unsigned char)hex[i]) || hex[i] == ':')
			continue;
		clean[n++] = hex[i];
	}
	clean[n] = '\0';

	/*
	 * OPENSSL_hexstr2buf() rejects an empty string, but an empty vector
	 * (e.g. a zero-length payload) is legitimate.
	 */
	if (n == 0) {
		free(clean);
		*len = 0;
		return (calloc(1, 1));
	}
	buf = OPENSSL_hexstr2buf(clean, &blen);
	free(clean);
	if (buf == NULL)
		return (NULL);

	/* Hand back plain malloc() memory so that callers can use free(). */
	out = malloc((size_t)blen);
	if (out != NULL) {
		memcpy(out, buf, (size_t)blen);
		*len = (size_t)blen;
	}
	OPENSSL_free(buf);
	return (out);
}

void
test_rng_seed(struct test_rng *rng, uint64_t seed)
{

	rng->state = seed;
}

/*
 * splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a Weyl sequence through a 64-bit mixer.  It
 * has no bad seeds, which matters because tests seed it with small ints.
 */
uint64_t
test_rng_u64(struct test_rng *rng)
{
	uint64_t z;

	rng->state += 0x9e3779b97f4a7c15ULL;
	z = rng->state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

void
test_rng_bytes(struct test_rng *rng, void *buf, size_t len)
{
	uint8_t *p;
	uint64_t v;
	size_t i;

	/*
	 * Eight bytes per draw, least significant first: the same stream
	 * on any host, written a word at a time (fuzz_ops spends much of its
	 * time here with a byte loop).
	 */
	p = buf;
	for (i = 0; i + 8 <= len; i += 8) {
		v = test_rng_u64(rng);
		for (int k = 0; k < 8; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
	if (i < len) {
		v = test_rng_u64(rng);
		for (; i < len; i++, v >>= 8)
			p[i] = (uint8_t)v;
	}
}

void
test_random_printable(struct test_rng *rng, void *buf, size_t len)
{
	uint8_t *p;
	size_t i;

	/* 95 printable characters, 0x20 (space) through 0x7e ('~'). */
	p = buf;
	for (i = 0; i < len; i++)
		p[i] = 0x20 + (uint8_t)(test_rng_u64(rng) % 95);
}

int
test_run_tool(const char *envvar, const char *args, char *out, size_t outlen)
{
	const char *exe;
	char *cmd;
	size_t n;
	FILE *p;
	int st;

	if ((exe = getenv(envvar)) == NULL) {
		fprintf(stderr, "test_run_tool: %s is not set\n", envvar);
		return (-1);
	}
	if (asprintf(&cmd, "'%s' %s 2>&1", exe, args) < 0)
		return (-1);
	p = popen(cmd, "r");
	free(cmd);
	if (p == NULL) {
		fprintf(stderr, "test_run_tool: cannot run %s\n", exe);
		return (-1);
	}
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st)) {
		fprintf(stderr, "test_run_tool: %s did not exit (status %d)\n",
		    exe, st);
		return (-1);
	}
	return (WEXITSTATUS(st));
}
