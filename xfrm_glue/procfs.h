/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's files under /proc/net/esp_offload/, per network namespace.
 */
#ifndef ESPO_PROCFS_H
#define ESPO_PROCFS_H

int espo_procfs_init(void);
void espo_procfs_exit(void);

#endif /* ESPO_PROCFS_H */
