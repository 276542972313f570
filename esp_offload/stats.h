/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters an operator can read in debugfs (esp_offload/stats for the
 * whole module, esp_offload/sas per SA). The xfrm core keeps its own
 * counters too (/proc/net/xfrm_stat, ip -s xfrm state); these say what
 * this module did and why it dropped what it dropped.
 */
#ifndef ESPO_STATS_H
#define ESPO_STATS_H

#include <linux/percpu.h>
#include <net/xfrm.h>

enum espo_counter {
	ESPO_TX_PACKETS,
	ESPO_TX_BYTES,
	ESPO_RX_PACKETS,
	ESPO_RX_BYTES,
	ESPO_TX_ASYNC,		/* encryptions that completed asynchronously */
	ESPO_RX_ASYNC,		/* decryptions that completed asynchronously */
	ESPO_NATT_REMAP,	/* NAT-T peer address/port changes reported */
	/* The offload type (xfrm_glue/offload.c, esp_offload/offload.c). */
	ESPO_TX_GSO_SUPER,	/* GSO super-packets segmented after ESP */
	ESPO_TX_GSO_SEGS,	/* segments those super-packets became */
	ESPO_TX_XMIT,		/* packets encrypted in the offload xmit */
	ESPO_RX_GRO,		/* packets the GRO handler handed to xfrm */
	ESPO_RX_GRO_DECRYPTED,	/* of those, decrypted by this module */
	/* Device crypto offload (xfrmdev_ops, NETIF_F_HW_ESP). */
	ESPO_TX_DEVICE,		/* packets left to the device to encrypt */
	ESPO_RX_DEVICE,		/* packets a device decrypted (CRYPTO_DONE) */
	/* Drops, also counted per SA; keep ESPO_DROP_ICV first. */
	ESPO_DROP_ICV,		/* integrity check failed */
	ESPO_DROP_TRUNCATED,	/* shorter than header, IV, trailer and ICV */
	ESPO_DROP_PADLEN,	/* pad length runs past the payload */
	ESPO_DROP_PADDING,	/* padding bytes are not 1, 2, 3, ... */
	ESPO_DROP_DUMMY,	/* next header 59: dummy packet (RFC 4303 2.6) */
	ESPO_DROP_NOMEM,	/* allocation or copy-on-write failed */
	ESPO_DROP_CRYPTO,	/* crypto driver error */
	ESPO_DROP_BUSY,		/* crypto driver queue full, no backlog */
	ESPO_DROP_TOOBIG,	/* result would exceed the maximum length */
	ESPO_COUNTER_MAX
};

#define ESPO_DROP_FIRST	ESPO_DROP_ICV
#define ESPO_DROP_COUNT	(ESPO_COUNTER_MAX - ESPO_DROP_FIRST)

struct espo_stats {
	u64 c[ESPO_COUNTER_MAX];
};

extern struct espo_stats __percpu *espo_stats;

static inline void espo_count(enum espo_counter c)
{
	this_cpu_inc(espo_stats->c[c]);
}

static inline void espo_count_add(enum espo_counter c, u64 n)
{
	this_cpu_add(espo_stats->c[c], n);
}

/* Count a drop globally and on the SA it happened on. */
void espo_count_drop(const struct xfrm_state *x, enum espo_counter reason);

const char *espo_counter_name(enum espo_counter c);
u64 espo_counter_sum(enum espo_counter c);

int espo_stats_init(void);
void espo_stats_exit(void);

#endif /* ESPO_STATS_H */
