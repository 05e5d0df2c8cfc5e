/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The simulated kernel's sim.cost counters as the cost model's counts
 * (models/cost/cost.h struct cost_counts; docs/cost-model.md).
 */

#ifndef _SIM_COST_SNAP_H_
#define _SIM_COST_SNAP_H_

#include "cost/cost.h"

/* Fill the kernel's fields of c with the counters' values now. */
void cost_snap(struct cost_counts *c);
/*
 * The kernel's counts since before (taken with cost_snap()), added to
 * c's; c's other fields are left as they are.
 */
void cost_snap_since(const struct cost_counts *before, struct cost_counts *c);

#endif /* !_SIM_COST_SNAP_H_ */
