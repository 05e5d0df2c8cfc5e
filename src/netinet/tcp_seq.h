/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * TCP sequence number comparisons, modulo 2^32 (RFC 9293 section 3.4).
 * Models sys/netinet/tcp_seq.h.
 */

#ifndef _NETINET_TCP_SEQ_H_
#define _NETINET_TCP_SEQ_H_

#include <netinet/tcp.h> /* tcp_seq */

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)
#define SEQ_MIN(a, b) ((SEQ_LT(a, b)) ? (a) : (b))
#define SEQ_MAX(a, b) ((SEQ_GT(a, b)) ? (a) : (b))

#endif /* !_NETINET_TCP_SEQ_H_ */
