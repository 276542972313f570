/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's debugfs files (esp_offload/stats and esp_offload/sas).
 */
#ifndef ESPO_DEBUGFS_H
#define ESPO_DEBUGFS_H

void espo_debugfs_init(void);
void espo_debugfs_exit(void);

#endif /* ESPO_DEBUGFS_H */
