/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences the datapath meets (the crypto API's are in
 * crypto_accel/aead.h). Each ESPO_HAVE_* flag is set by
 * scripts/compat-probe.sh from what the target kernel's headers contain,
 * never from version numbers.
 */
#ifndef ESPO_COMPAT_H
#define ESPO_COMPAT_H

#include <linux/skbuff.h>
#ifdef ESPO_HAVE_SKB_PAGE_UNREF_NETMEM
#include <linux/skbuff_ref.h>
#endif

#ifdef ESPO_HAVE_LINUX_UNALIGNED
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * Release a page that was one of skb's fragments: a page_pool page goes
 * back to its pool, any other page is put (upstream "esp: fix bad
 * handling of pages from page_pool").
 */
static inline void espo_frag_page_unref(const struct sk_buff *skb,
					struct page *page)
{
#if defined(ESPO_HAVE_SKB_PAGE_UNREF_NETMEM)
	skb_page_unref(page_to_netmem(page), skb->pp_recycle);
#elif defined(ESPO_HAVE_SKB_PAGE_UNREF_SKB)
	skb_page_unref(skb, page, false);
#else
	put_page(page);
#endif
}

#endif /* ESPO_COMPAT_H */
