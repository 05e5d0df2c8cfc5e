/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's log: one timestamped line per call on stderr.  Its own file
 * so that every part of the server (the core, both transmit backends, the
 * trace bridge) can log without depending on the core.
 */

#ifndef _SIM_SERVER_LOG_H_
#define _SIM_SERVER_LOG_H_

void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* !_SIM_SERVER_LOG_H_ */
