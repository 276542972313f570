#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Add one ESP SA over netlink (XFRM_MSG_NEWSA) with what iproute2 6.1
# cannot say: the SA's direction (XFRMA_SA_DIR, 6.10+) and a NAT
# keepalive interval (XFRMA_NAT_KEEPALIVE_INTERVAL). Run it inside the
# namespace (ip netns exec NS xfrm_sa.py ...). Prints the kernel's
# extack message and exits 1 when the SA is refused.
#
#   xfrm_sa.py --src A --dst B --spi 0x100 --aead 'rfc4106(gcm(aes))' KEY ICV
#              [--mode transport|tunnel] [--reqid N] [--dir in|out]
#              [--replay-window N] [--encap SPORT DPORT]
#              [--nat-keepalive SECONDS] [--af-unspec]
import argparse
import ipaddress
import os
import socket
import struct
import sys

NETLINK_XFRM = 6
XFRM_MSG_NEWSA = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL = 1, 4, 0x400, 0x200
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
XFRMA_ENCAP, XFRMA_ALG_AEAD = 4, 18
XFRMA_SA_DIR, XFRMA_NAT_KEEPALIVE_INTERVAL = 33, 34
XFRM_STATE_AF_UNSPEC = 32
UDP_ENCAP_ESPINUDP = 2
NETLINK_EXT_ACK = 11
SOL_NETLINK = 270
XFRM_INF = (1 << 64) - 1


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def addr16(a):
    ip = ipaddress.ip_address(a)
    return ip.packed.ljust(16, b"\0"), (socket.AF_INET if ip.version == 4 else socket.AF_INET6)


def build(o):
    dst, fam = addr16(o.dst)
    src, _ = addr16(o.src)
    # struct xfrm_selector (56 bytes): zero = any, family left 0.
    sel = b"\0" * 56
    # struct xfrm_id: daddr, spi, proto (+3 pad).
    xid = dst + struct.pack(">I", o.spi) + struct.pack("=B3x", socket.IPPROTO_ESP)
    lft = struct.pack("=8Q", XFRM_INF, XFRM_INF, XFRM_INF, XFRM_INF, 0, 0, 0, 0)
    cur = b"\0" * 32
    stats = b"\0" * 12
    mode = {"transport": 0, "tunnel": 1}[o.mode]
    flags = XFRM_STATE_AF_UNSPEC if o.af_unspec else 0
    tail = struct.pack("=IIHBBB7x", 0, o.reqid, fam, mode, o.replay_window, flags)
    info = sel + xid + src + lft + cur + stats + tail
    assert len(info) == 224, len(info)
    name, key, icv = o.aead
    keyb = bytes.fromhex(key[2:] if key.startswith("0x") else key)
    aead = struct.pack("=64sII", name.encode(), len(keyb) * 8, int(icv)) + keyb
    attrs = attr(XFRMA_ALG_AEAD, aead)
    if o.encap:
        # struct xfrm_encap_tmpl: type, sport, dport, 2 bytes of padding,
        # the original address (unused here).
        attrs += attr(XFRMA_ENCAP, struct.pack("=H", UDP_ENCAP_ESPINUDP) +
                      struct.pack(">HH", int(o.encap[0]), int(o.encap[1])) + b"\0" * 18)
    if o.dir:
        attrs += attr(XFRMA_SA_DIR, struct.pack("=B", {"in": 1, "out": 2}[o.dir]))
    if o.nat_keepalive is not None:
        attrs += attr(XFRMA_NAT_KEEPALIVE_INTERVAL, struct.pack("=I", o.nat_keepalive))
    body = info + attrs
    hdr = struct.pack("=IHHII", 16 + len(body), XFRM_MSG_NEWSA,
                      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, 0)
    return hdr + body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--spi", required=True, type=lambda s: int(s, 0))
    p.add_argument("--aead", required=True, nargs=3, metavar=("NAME", "KEY", "ICV"))
    p.add_argument("--mode", default="transport", choices=["transport", "tunnel"])
    p.add_argument("--reqid", default=0, type=int)
    p.add_argument("--dir", choices=["in", "out"])
    p.add_argument("--replay-window", default=0, type=int)
    p.add_argument("--encap", nargs=2, metavar=("SPORT", "DPORT"))
    p.add_argument("--nat-keepalive", type=int)
    p.add_argument("--af-unspec", action="store_true")
    o = p.parse_args()

    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.bind((0, 0))
    s.send(build(o))
    data = s.recv(65536)
    n, kind, flags = struct.unpack_from("=IHH", data)
    if kind != NLMSG_ERROR:
        print("xfrm_sa: unexpected answer type %d" % kind, file=sys.stderr)
        return 1
    (err,) = struct.unpack_from("=i", data, 16)
    if err == 0:
        return 0
    msg = ""
    if flags & NLM_F_ACK_TLVS:
        # Past struct nlmsgerr: the error and the whole request echoed.
        (olen,) = struct.unpack_from("=I", data, 20)
        off = 20 + (16 if flags & NLM_F_CAPPED else olen)
        while off + 4 <= n:
            alen, akind = struct.unpack_from("=HH", data, off)
            if alen < 4:
                break
            if akind == NLMSGERR_ATTR_MSG:
                msg = data[off + 4:off + alen].split(b"\0")[0].decode()
            off += (alen + 3) & ~3
    print("xfrm_sa: %s%s" % (os.strerror(-err), ": " + msg if msg else ""), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
