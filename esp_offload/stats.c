// SPDX-License-Identifier: GPL-2.0
/*
 * Module-wide packet counters, per CPU so the packet path never shares a
 * cache line. Readers add the CPUs up; a sum may be a packet or two behind.
 */
#include <linux/percpu.h>

#include "esp_offload/stats.h"
#include "esp_offload/sa.h"

struct espo_stats __percpu *espo_stats;

static const char * const espo_counter_names[ESPO_COUNTER_MAX] = {
	[ESPO_TX_PACKETS]	= "tx_packets",
	[ESPO_TX_BYTES]		= "tx_bytes",
	[ESPO_RX_PACKETS]	= "rx_packets",
	[ESPO_RX_BYTES]		= "rx_bytes",
	[ESPO_TX_ASYNC]		= "tx_async",
	[ESPO_RX_ASYNC]		= "rx_async",
	[ESPO_NATT_REMAP]	= "natt_remap",
	[ESPO_TX_GSO_SUPER]	= "tx_gso_super",
	[ESPO_TX_GSO_SEGS]	= "tx_gso_segs",
	[ESPO_TX_XMIT]		= "tx_xmit",
	[ESPO_RX_GRO]		= "rx_gro",
	[ESPO_RX_GRO_DECRYPTED]	= "rx_gro_decrypted",
	[ESPO_TX_DEVICE]	= "tx_device",
	[ESPO_RX_DEVICE]	= "rx_device",
	[ESPO_DROP_ICV]		= "drop_icv",
	[ESPO_DROP_TRUNCATED]	= "drop_truncated",
	[ESPO_DROP_PADLEN]	= "drop_padlen",
	[ESPO_DROP_PADDING]	= "drop_padding",
	[ESPO_DROP_DUMMY]	= "drop_dummy",
	[ESPO_DROP_NOMEM]	= "drop_nomem",
	[ESPO_DROP_CRYPTO]	= "drop_crypto",
	[ESPO_DROP_BUSY]	= "drop_busy",
	[ESPO_DROP_TOOBIG]	= "drop_toobig",
};

const char *espo_counter_name(enum espo_counter c)
{
	return espo_counter_names[c];
}

u64 espo_counter_sum(enum espo_counter c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(espo_stats, cpu)->c[c];
	return sum;
}

void espo_count_drop(const struct xfrm_state *x, enum espo_counter reason)
{
	espo_count(reason);
	espo_sa_count_drop(x, reason - ESPO_DROP_FIRST);
}

int espo_stats_init(void)
{
	espo_stats = alloc_percpu(struct espo_stats);
	return espo_stats ? 0 : -ENOMEM;
}

void espo_stats_exit(void)
{
	free_percpu(espo_stats);
	espo_stats = NULL;
}
