// SPDX-License-Identifier: GPL-2.0
/*
 * espo_engine: a TEST crypto engine for esp_offload's selftests, never
 * installed. It registers asynchronous AEAD drivers for rfc4106(gcm(aes))
 * (driver rfc4106-gcm-espo-engine) and rfc4543(gcm(aes))
 * (rfc4543-gcm-espo-engine) on the kernel's crypto_engine: every request
 * is queued to the engine and completed later from the engine's kthread,
 * the way a hardware engine's driver completes them. The GCM itself is
 * done by a synchronous software transform of the same algorithm.
 *
 * Parameters:
 *   priority=N     the drivers' priority (default 50: only used when asked
 *                  for by driver name, e.g. esp_offload crypto_driver=;
 *                  above the software ones it becomes the default)
 *   qlen=N         depth of the engine's queue (default 10); a request
 *                  that finds it full fails with -ENOSPC unless it allows
 *                  a backlog (CRYPTO_TFM_REQ_MAY_BACKLOG: -EBUSY)
 *   delay_us=N     sleep N microseconds before each completion
 *   fail_every=N   complete every Nth request with -EIO (0: never; not
 *                  during the driver's crypto self-tests)
 *
 * Counters in /sys/kernel/debug/espo_engine/stats, one "name value" a line.
 */
#include <crypto/aead.h>
#include <crypto/engine.h>
#include <crypto/gcm.h>
#include <crypto/internal/aead.h>
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/seq_file.h>

static int espo_eng_priority = 50;
module_param_named(priority, espo_eng_priority, int, 0444);
MODULE_PARM_DESC(priority, "cra_priority of the drivers (default 50)");

static uint espo_eng_qlen = 10;
module_param_named(qlen, espo_eng_qlen, uint, 0444);
MODULE_PARM_DESC(qlen, "depth of the crypto_engine queue (default 10)");

static uint espo_eng_delay_us;
module_param_named(delay_us, espo_eng_delay_us, uint, 0644);
MODULE_PARM_DESC(delay_us, "delay before each completion, in microseconds");

static uint espo_eng_fail_every;
module_param_named(fail_every, espo_eng_fail_every, uint, 0644);
MODULE_PARM_DESC(fail_every, "complete every Nth request with -EIO (0: never)");

struct espo_eng_ctx {
#ifndef ESPO_HAVE_AEAD_ENGINE_ALG
	/* First: the engine of 6.1-era kernels finds its op here. */
	struct crypto_engine_ctx enginectx;
#endif
	struct crypto_aead *fallback;
};

struct espo_eng_reqctx {
	bool encrypt;
	/* Last: the fallback's request context follows it. */
	struct aead_request subreq;
};

enum espo_eng_counter {
	ESPO_ENG_REQUESTS,	/* encrypt/decrypt calls */
	ESPO_ENG_QUEUED,	/* accepted by the queue (-EINPROGRESS) */
	ESPO_ENG_BACKLOG,	/* accepted into the backlog (-EBUSY) */
	ESPO_ENG_QUEUE_FULL,	/* refused, the queue was full (-ENOSPC) */
	ESPO_ENG_REFUSED,	/* refused for another reason */
	ESPO_ENG_COMPLETIONS,	/* completed from the kthread, any result */
	ESPO_ENG_INJECTED,	/* completed with -EIO by fail_every */
	ESPO_ENG_FAILED,	/* the GCM itself failed (e.g. -EBADMSG) */
	ESPO_ENG_COUNTER_MAX
};

static const char * const espo_eng_counter_names[ESPO_ENG_COUNTER_MAX] = {
	[ESPO_ENG_REQUESTS]	= "requests",
	[ESPO_ENG_QUEUED]	= "queued",
	[ESPO_ENG_BACKLOG]	= "backlog",
	[ESPO_ENG_QUEUE_FULL]	= "queue_full",
	[ESPO_ENG_REFUSED]	= "refused",
	[ESPO_ENG_COMPLETIONS]	= "completions",
	[ESPO_ENG_INJECTED]	= "injected_errors",
	[ESPO_ENG_FAILED]	= "failed",
};

static atomic_long_t espo_eng_stats[ESPO_ENG_COUNTER_MAX];
/* Requests of tested drivers seen by do_one_request. */
static atomic_long_t espo_eng_seq;

static struct device *espo_eng_dev;
static struct crypto_engine *espo_eng;
static struct dentry *espo_eng_debugfs;

static void espo_eng_count(enum espo_eng_counter c)
{
	atomic_long_inc(&espo_eng_stats[c]);
}

/*
 * Never while the driver's crypto self-tests run: on 6.12 they run in
 * cryptomgr's thread after the registration has returned, so only an
 * algorithm marked tested gets failures.
 */
static bool espo_eng_inject_failure(struct crypto_aead *tfm)
{
	uint every = READ_ONCE(espo_eng_fail_every);

	if (!every ||
	    !(READ_ONCE(crypto_aead_alg(tfm)->base.cra_flags) & CRYPTO_ALG_TESTED))
		return false;
	return atomic_long_inc_return(&espo_eng_seq) % every == 0;
}

/* The engine's kthread: do the GCM, wait if asked, complete. */
static int espo_eng_do_one(struct crypto_engine *engine, void *areq)
{
	struct aead_request *req = container_of(areq, struct aead_request, base);
	struct crypto_aead *tfm = crypto_aead_reqtfm(req);
	struct espo_eng_ctx *ctx = crypto_aead_ctx(tfm);
	struct espo_eng_reqctx *rctx = aead_request_ctx(req);
	struct aead_request *sub = &rctx->subreq;
	uint delay = READ_ONCE(espo_eng_delay_us);
	int err;

	if (espo_eng_inject_failure(tfm)) {
		espo_eng_count(ESPO_ENG_INJECTED);
		err = -EIO;
	} else {
		aead_request_set_tfm(sub, ctx->fallback);
		aead_request_set_callback(sub, CRYPTO_TFM_REQ_MAY_SLEEP,
					  NULL, NULL);
		aead_request_set_crypt(sub, req->src, req->dst, req->cryptlen,
				       req->iv);
		aead_request_set_ad(sub, req->assoclen);
		err = rctx->encrypt ? crypto_aead_encrypt(sub) :
				      crypto_aead_decrypt(sub);
		if (err)
			espo_eng_count(ESPO_ENG_FAILED);
	}
	if (delay)
		fsleep(delay);
	/* Before the completion: the request may be gone after it. */
	espo_eng_count(ESPO_ENG_COMPLETIONS);
	local_bh_disable();
	crypto_finalize_aead_request(engine, req, err);
	local_bh_enable();
	return 0;
}

static int espo_eng_queue(struct aead_request *req, bool encrypt)
{
	struct espo_eng_reqctx *rctx = aead_request_ctx(req);
	int err;

	rctx->encrypt = encrypt;
	espo_eng_count(ESPO_ENG_REQUESTS);
	err = crypto_transfer_aead_request_to_engine(espo_eng, req);
	switch (err) {
	case -EINPROGRESS:
		espo_eng_count(ESPO_ENG_QUEUED);
		break;
	case -EBUSY:
		espo_eng_count(ESPO_ENG_BACKLOG);
		break;
	case -ENOSPC:
		espo_eng_count(ESPO_ENG_QUEUE_FULL);
		break;
	default:
		espo_eng_count(ESPO_ENG_REFUSED);
		break;
	}
	return err;
}

static int espo_eng_encrypt(struct aead_request *req)
{
	return espo_eng_queue(req, true);
}

static int espo_eng_decrypt(struct aead_request *req)
{
	return espo_eng_queue(req, false);
}

static int espo_eng_setkey(struct crypto_aead *tfm, const u8 *key,
			   unsigned int keylen)
{
	struct espo_eng_ctx *ctx = crypto_aead_ctx(tfm);

	crypto_aead_clear_flags(ctx->fallback, CRYPTO_TFM_REQ_MASK);
	crypto_aead_set_flags(ctx->fallback,
			      crypto_aead_get_flags(tfm) & CRYPTO_TFM_REQ_MASK);
	return crypto_aead_setkey(ctx->fallback, key, keylen);
}

static int espo_eng_setauthsize(struct crypto_aead *tfm,
				unsigned int authsize)
{
	struct espo_eng_ctx *ctx = crypto_aead_ctx(tfm);

	return crypto_aead_setauthsize(ctx->fallback, authsize);
}

/*
 * The software transform: the same algorithm, synchronous only (masking
 * CRYPTO_ALG_ASYNC also keeps this asynchronous driver from picking
 * itself, whatever its priority).
 */
static int espo_eng_init_tfm(struct crypto_aead *tfm)
{
	struct espo_eng_ctx *ctx = crypto_aead_ctx(tfm);
	struct crypto_aead *fallback;

	fallback = crypto_alloc_aead(crypto_tfm_alg_name(crypto_aead_tfm(tfm)),
				     0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(fallback))
		return PTR_ERR(fallback);
	ctx->fallback = fallback;
#ifndef ESPO_HAVE_AEAD_ENGINE_ALG
	ctx->enginectx.op.do_one_request = espo_eng_do_one;
#endif
	crypto_aead_set_reqsize(tfm, sizeof(struct espo_eng_reqctx) +
				crypto_aead_reqsize(fallback));
	return 0;
}

static void espo_eng_exit_tfm(struct crypto_aead *tfm)
{
	struct espo_eng_ctx *ctx = crypto_aead_ctx(tfm);

	crypto_free_aead(ctx->fallback);
}

static struct aead_alg espo_eng_aeads[] = {
	{
		.setkey		= espo_eng_setkey,
		.setauthsize	= espo_eng_setauthsize,
		.encrypt	= espo_eng_encrypt,
		.decrypt	= espo_eng_decrypt,
		.init		= espo_eng_init_tfm,
		.exit		= espo_eng_exit_tfm,
		.ivsize		= GCM_RFC4106_IV_SIZE,
		.maxauthsize	= 16,
		.chunksize	= 16,
		.base = {
			.cra_name		= "rfc4106(gcm(aes))",
			.cra_driver_name	= "rfc4106-gcm-espo-engine",
			.cra_flags		= CRYPTO_ALG_ASYNC,
			.cra_blocksize		= 1,
			.cra_ctxsize		= sizeof(struct espo_eng_ctx),
			.cra_module		= THIS_MODULE,
		},
	}, {
		.setkey		= espo_eng_setkey,
		.setauthsize	= espo_eng_setauthsize,
		.encrypt	= espo_eng_encrypt,
		.decrypt	= espo_eng_decrypt,
		.init		= espo_eng_init_tfm,
		.exit		= espo_eng_exit_tfm,
		.ivsize		= GCM_RFC4543_IV_SIZE,
		.maxauthsize	= 16,
		.chunksize	= 16,
		.base = {
			.cra_name		= "rfc4543(gcm(aes))",
			.cra_driver_name	= "rfc4543-gcm-espo-engine",
			.cra_flags		= CRYPTO_ALG_ASYNC,
			.cra_blocksize		= 1,
			.cra_ctxsize		= sizeof(struct espo_eng_ctx),
			.cra_module		= THIS_MODULE,
		},
	},
};

#ifdef ESPO_HAVE_AEAD_ENGINE_ALG
/* 6.6+: the engine finds do_one_request next to the aead_alg. */
static struct aead_engine_alg espo_eng_algs[ARRAY_SIZE(espo_eng_aeads)];

static int espo_eng_register(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(espo_eng_algs); i++) {
		espo_eng_algs[i].base = espo_eng_aeads[i];
		espo_eng_algs[i].op.do_one_request = espo_eng_do_one;
	}
	return crypto_engine_register_aeads(espo_eng_algs,
					    ARRAY_SIZE(espo_eng_algs));
}

static void espo_eng_unregister(void)
{
	crypto_engine_unregister_aeads(espo_eng_algs, ARRAY_SIZE(espo_eng_algs));
}
#else
static int espo_eng_register(void)
{
	return crypto_register_aeads(espo_eng_aeads, ARRAY_SIZE(espo_eng_aeads));
}

static void espo_eng_unregister(void)
{
	crypto_unregister_aeads(espo_eng_aeads, ARRAY_SIZE(espo_eng_aeads));
}
#endif

static int espo_eng_stats_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < ESPO_ENG_COUNTER_MAX; i++)
		seq_printf(m, "%s %ld\n", espo_eng_counter_names[i],
			   atomic_long_read(&espo_eng_stats[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(espo_eng_stats);

static int __init espo_eng_init(void)
{
	int i, err;

	if (!espo_eng_qlen || espo_eng_qlen > INT_MAX) {
		pr_err("qlen=%u is out of range\n", espo_eng_qlen);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(espo_eng_aeads); i++)
		espo_eng_aeads[i].base.cra_priority = espo_eng_priority;

	/* The engine needs a device; a root device is the smallest one. */
	espo_eng_dev = root_device_register("espo_engine");
	if (IS_ERR(espo_eng_dev))
		return PTR_ERR(espo_eng_dev);
	espo_eng = crypto_engine_alloc_init_and_set(espo_eng_dev, false, NULL,
						    false, espo_eng_qlen);
	if (!espo_eng) {
		err = -ENOMEM;
		goto err_dev;
	}
	err = crypto_engine_start(espo_eng);
	if (err)
		goto err_engine;

	espo_eng_debugfs = debugfs_create_dir("espo_engine", NULL);
	debugfs_create_file("stats", 0444, espo_eng_debugfs, NULL,
			    &espo_eng_stats_fops);

	err = espo_eng_register();
	if (err)
		goto err_debugfs;
	pr_info("test engine registered: priority %d, qlen %u\n",
		espo_eng_priority, espo_eng_qlen);
	return 0;

err_debugfs:
	debugfs_remove_recursive(espo_eng_debugfs);
err_engine:
	crypto_engine_exit(espo_eng);
err_dev:
	root_device_unregister(espo_eng_dev);
	return err;
}

/*
 * No transform is left (each holds a reference on the module), so the
 * queue is empty and the engine stops at once.
 */
static void __exit espo_eng_exit(void)
{
	espo_eng_unregister();
	debugfs_remove_recursive(espo_eng_debugfs);
	crypto_engine_exit(espo_eng);
	/* The engine was allocated on the device (devm): freed here. */
	root_device_unregister(espo_eng_dev);
}

module_init(espo_eng_init);
module_exit(espo_eng_exit);

MODULE_DESCRIPTION("TEST crypto engine for esp_offload selftests (rfc4106/rfc4543 over crypto_engine)");
MODULE_LICENSE("GPL");
