/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SAs this module serves, for the operator's view in debugfs and for
 * per-SA drop counters. The packet path never looks an SA up here except
 * to count a drop.
 */
#ifndef ESPO_SA_TABLE_H
#define ESPO_SA_TABLE_H

#include <net/xfrm.h>

int espo_sa_track(struct xfrm_state *x);
void espo_sa_untrack(struct xfrm_state *x);
void espo_sa_count_drop(const struct xfrm_state *x, unsigned int reason);

int espo_debugfs_init(void);
void espo_debugfs_exit(void);

#endif /* ESPO_SA_TABLE_H */
