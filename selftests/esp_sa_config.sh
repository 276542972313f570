#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SA set-up: what the module accepts, and every configuration it refuses,
# each with the message `ip xfrm state add` prints and nothing installed.
. "$(dirname "$0")/lib.sh"

on_exit module_unload
netns_new NS sa || ksft_skip_all "netns"
module_load || ksft_skip_all "cannot load esp_offload"
dmesg_mark

K160=${KEY256:0:42}
SA="src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x6001"

# refused NAME EXPECTED_MESSAGE STATE_ARGS...
refused() {
	local name=$1 want=$2 out
	shift 2
	out=$(ip -n "$NS" xfrm state add $SA "$@" 2>&1)
	if [ $? != 0 ] && grep -qF -- "$want" <<< "$out" &&
	   [ -z "$(ip -n "$NS" xfrm state list)" ]; then
		ksft_pass "refused: $name"
	else
		ksft_fail "refused: $name" "got: $out"
	fi
	ip -n "$NS" xfrm state flush
}

# accepted NAME STATE_ARGS...
accepted() {
	local name=$1 out
	shift
	if out=$(ip -n "$NS" xfrm state add $SA "$@" 2>&1) &&
	   [ -n "$(ip -n "$NS" xfrm state list)" ]; then
		ksft_pass "accepted: $name"
	else
		ksft_fail "accepted: $name" "$out"
	fi
	ip -n "$NS" xfrm state flush
}

M="Error: esp_offload:"

ksft_plan 20
accepted "gcm transport" mode transport aead "$GCM" "$K160" 128
accepted "gcm tunnel esn window 4096" mode tunnel aead "$GCM" "$KEY256" 96 flag esn replay-window 4096
accepted "gmac tunnel with tfcpad" mode tunnel aead "$GMAC" "$KEY256" 128 tfcpad 512
accepted "gcm nat-t" mode tunnel aead "$GCM" "$K160" 128 encap espinudp 4500 4500 0.0.0.0

refused "cbc + hmac (not AEAD)" "$M only AEAD algorithms are supported" mode transport \
	enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff auth 'hmac(sha256)' \
	0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
# iproute2 and xfrm_user refuse some configurations before the module
# sees them; the test asserts whoever refuses, with its message.
refused "auth only (iproute2)" '"enc" or "aead" is required' mode transport \
	auth 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
refused "no algorithm (iproute2)" '"enc" or "aead" is required' mode transport
refused "chacha20-poly1305" "$M unsupported AEAD" mode transport \
	aead 'rfc7539esp(chacha20,poly1305)' "$KEY256" 128
refused "gcm without rfc4106 framing" "$M unsupported AEAD" mode transport \
	aead 'rfc4309(ccm(aes))' "$K160" 128
refused "key without salt (128 bits)" "$M key must be a 128, 192 or 256-bit AES key" \
	mode transport aead "$GCM" 0x00112233445566778899aabbccddeeff 128
refused "key of 200 bits" "$M key must be a 128, 192 or 256-bit AES key" \
	mode transport aead "$GCM" 0x00112233445566778899aabbccddeeff0011223344556677aa 128
refused "gmac with a 96-bit ICV (xfrm_user)" "Requested AEAD algorithm not found" \
	mode transport aead "$GMAC" "$K160" 96
refused "beet mode" "$M only transport and tunnel mode are supported" \
	mode beet aead "$GCM" "$K160" 128
refused "oseq-may-wrap" "$M oseq-may-wrap would repeat AES-GCM IVs" \
	mode transport aead "$GCM" "$K160" 128 extra-flag oseq-may-wrap
refused "tfcpad in transport mode (xfrm_user)" "TFC padding can only be used in tunnel mode" \
	mode transport aead "$GCM" "$K160" 128 tfcpad 512
refused "espinudp-nonike" "$M unsupported encapsulation" \
	mode transport aead "$GCM" "$K160" 128 encap espinudp-nonike 4500 4500 0.0.0.0
refused "espintcp" "unsupported encapsulation" \
	mode transport aead "$GCM" "$K160" 128 encap espintcp 4500 4500 0.0.0.0

# Device offload: with the module's ESP offload type (offload_type=1) the
# core accepts the request and, the device having no ESP crypto, keeps
# the SA in software; without it (offload_type=0) the core refuses the
# SA (strongSwan's hw_offload = auto then installs it without offload).
# Either way esp4_offload cannot come in.
ip -n "$NS" link add espo0 type dummy && ip -n "$NS" link set espo0 up
if module_offload_type; then
	out=$(ip -n "$NS" xfrm state add $SA mode transport aead "$GCM" "$K160" 128 \
		offload dev espo0 dir out 2>&1)
	ksft_check "device offload to a device without ESP crypto: SA kept in software" \
		eval '[ -z "$out" ] &&
			ip -n "$NS" xfrm state list | grep -q "spi 0x00006001" &&
			! ip -n "$NS" xfrm state list | grep -q "crypto offload"'
	ip -n "$NS" xfrm state flush
else
	refused "device offload (no ESP offload type)" "Type doesn't support offload" \
		mode transport aead "$GCM" "$K160" 128 offload dev espo0 dir out
fi
ksft_check "esp4/esp4_offload not loaded by the offload request" stock_esp_absent

ksft_check "no SA left, dmesg clean" bash -c \
	"[ -z \"\$(ip -n $NS xfrm state list)\" ] && ! dmesg | tail -n +$((DMESG_MARK + 1)) | grep -qE 'WARNING|BUG'"
ksft_exit
