#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print -D flags for the crypto_engine API of the kernel being built
# against, found by reading its headers (as xfrm_glue/compat-probe.sh does
# for esp_offload.ko; never by comparing version numbers).
# Usage: engine-probe.sh <kernel include dir>
inc=$1

has() {
	grep -qsE "$2" "$inc/$1" && printf ' -D%s' "$3"
}

# 6.6+: an engine AEAD is a struct aead_engine_alg { base, op } registered
# with crypto_engine_register_aead(); before, the tfm context starts with
# a struct crypto_engine_ctx holding the op and the alg is a plain aead_alg.
has crypto/engine.h '^struct aead_engine_alg[[:space:]]*\{' ESPO_HAVE_AEAD_ENGINE_ALG
echo
