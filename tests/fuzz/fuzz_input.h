/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A tiny FuzzedDataProvider for C harnesses: reads little-endian integers
 * from the front of the input and yields zeros once it runs out, so that
 * every input, however short, is a complete (if boring) test case.
 */

#ifndef _TESTS_FUZZ_INPUT_H_
#define _TESTS_FUZZ_INPUT_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline void
fi_init(struct fuzz_input *fi, const uint8_t *data, size_t size)
{

	fi->p = data;
	fi->left = size;
}

static inline void
fi_bytes(struct fuzz_input *fi, void *buf, size_t len)
{
	size_t n = len < fi->left ? len : fi->left;

	if (n > 0)
		memcpy(buf, fi->p, n);
	if (n < len)
		memset((uint8_t *)buf + n, 0, len - n);
	fi->p += n;
	fi->left -= n;
}

static inline uint64_t
fi_uint(struct fuzz_input *fi, size_t nbytes)
{
	uint8_t b[8];
	uint64_t v;

	fi_bytes(fi, b, nbytes);
	v = 0;
	for (size_t i = nbytes; i > 0; i--)
		v = (v << 8) | b[i - 1];
	return (v);
}

static inline uint8_t
fi_u8(struct fuzz_input *fi)
{

	return ((uint8_t)fi_uint(fi, 1));
}

static inline uint16_t
fi_u16(struct fuzz_input *fi)
{

	return ((uint16_t)fi_uint(fi, 2));
}

static inline uint32_t
fi_u32(struct fuzz_input *fi)
{

	return ((uint32_t)fi_uint(fi, 4));
}

static inline uint64_t
fi_u64(struct fuzz_input *fi)
{

	return (fi_uint(fi, 8));
}

#endif /* !_TESTS_FUZZ_INPUT_H_ */
