/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: knobs of the simulated page cache and disk behind sendfile(2).
 */

#ifndef _SYS_SENDFILE_SIM_H_
#define _SYS_SENDFILE_SIM_H_

#include <stdint.h>
#include <sys/types.h>

/* Delay of a simulated disk read (deterministic runner: virtual time). */
extern uint64_t sendfile_sim_io_delay_ns;
/* Page-cache budget in pages; 0 makes every page a disk read. */
extern u_int sendfile_sim_cache_pages;
/* Drop every cached page (tests that want a cold cache). */
void sendfile_sim_cache_flush(void);
/* Pages the cache holds now. */
u_int sendfile_sim_cache_resident(void);

#endif /* !_SYS_SENDFILE_SIM_H_ */
