/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Registration with the xfrm stack and SA set-up.
 */
#ifndef ESPO_GLUE_H
#define ESPO_GLUE_H

#include <net/xfrm.h>

int espo_init_state(struct xfrm_state *x, struct netlink_ext_ack *extack);
void espo_destroy_state(struct xfrm_state *x);

int espo_exclusive_init(void);
void espo_exclusive_exit(void);

int espo_aead_check_params(void);

int espo_offload_init(void);
void espo_offload_exit(void);
void espo_offload_state_init(struct xfrm_state *x);

#endif /* ESPO_GLUE_H */
