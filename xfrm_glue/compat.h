/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences. Each ESPO_HAVE_* flag is set by
 * xfrm_glue/compat-probe.sh from what the target kernel's headers contain,
 * never from version numbers.
 */
#ifndef ESPO_COMPAT_H
#define ESPO_COMPAT_H

#include <linux/crypto.h>

/*
 * Crypto completion callbacks: 6.1 passes the async request and the
 * caller's data is in req->data; 6.3+ passes the data pointer itself.
 */
#ifdef ESPO_HAVE_COMPLETION_DATA
#define ESPO_ASYNC_DONE(fn)	void fn(void *espo_arg, int err)
#define espo_async_data()	(espo_arg)
#else
#define ESPO_ASYNC_DONE(fn)	void fn(struct crypto_async_request *espo_arg, int err)
#define espo_async_data()	(espo_arg->data)
#endif

#endif /* ESPO_COMPAT_H */
