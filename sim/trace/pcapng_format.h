/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The pcapng format (draft-ietf-opsawg-pcapng) and the frames ktlsim puts
 * in it, as far as the writer (pcapng.c) and the trace reader
 * (ktrace_read_pcapng.c) need them.  Both use these names so that the two
 * sides cannot disagree about a number.
 */

#ifndef _SIM_TRACE_PCAPNG_FORMAT_H_
#define _SIM_TRACE_PCAPNG_FORMAT_H_

/* Block types, draft-ietf-opsawg-pcapng §3.2 and §11.1. */
#define BT_SHB 0x0a0d0d0aU /* §4.1 */
#define BT_IDB 0x00000001U /* §4.2 */
#define BT_EPB 0x00000006U /* §4.3 */
#define BT_DSB 0x0000000aU /* §4.8 */

/* §4.1: written in the writer's byte order; readers detect it. */
#define SHB_BYTE_ORDER_MAGIC 0x1a2b3c4dU

/* Option codes, §3.5 (common), §4.1 (SHB) and §4.2 (IDB). */
#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9

/* LINKTYPE_ETHERNET from the tcpdump.org link-layer header type registry. */
#define LINKTYPE_ETHERNET 1

/*
 * Block header (type and length) plus trailing length, §3.1.  Blocks are
 * padded to 32 bits.
 */
#define BLK_OVERHEAD 12
#define PAD4(x) (((x) + 3) & ~(size_t)3)

/*
 * Frames: Ethernet II, IPv4 (RFC 791 section 3.1) and TCP (RFC 9293
 * section 3.1) headers without options.
 */
#define ETHER_HDR_LEN 14
#define ETHERTYPE_IP 0x0800
#define IP_HDR_LEN 20
#define IP_DF 0x4000
#define IPPROTO_TCP_ 6
#define TCP_HDR_LEN 20

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PUSH 0x08
#define TH_ACK 0x10

#endif /* !_SIM_TRACE_PCAPNG_FORMAT_H_ */
