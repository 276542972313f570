#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Seeded ESP / ESP-in-UDP fuzzer for esp_fuzz.sh.

Builds malformed packets with esp_inject.py's builder (seal, udp_datagram,
ipv4_header), sends them from one process on raw sockets and predicts,
for every packet, what the receiver must do with it: which counter moves
(a "class", see CLASSES) and whether the inner datagram reaches the UDP
listener. The predictions follow RFC 4303 / RFC 3948 and the checks of
esp_offload's input path; the test compares them with the counters.

  esp_fuzz.py main  --seed S --count N --out FILE  [addresses, SPIs, key]
  esp_fuzz.py churn --seed S --count N --out FILE  [...]

FILE gets "class count" lines and one "ok TAG" line per packet whose
payload must be delivered. Everything is a pure function of the seed.
"""
import argparse
import collections
import os
import random
import socket
import struct
import sys
import time

import esp_inject as ei

IPPROTO_ESP = 50
ICV = 16
HDR = 16            # SPI, sequence number, IV
MIN_ESP = HDR + 2 + ICV
# Sequence numbers of malformed packets on an SA that carries traffic:
# far above anything the traffic reaches, so they pass the replay check
# (and reach the module) whatever single bit of them is flipped; they
# never advance the window because they never decrypt.
SEQ_BASE = 0xfff00000

# class: what the receiver counts for it.
CLASSES = {
    'icv': 'esp_offload drop_icv, XfrmInStateProtoError, SA failed',
    'trunc': 'esp_offload drop_truncated, XfrmInStateProtoError',
    'padlen': 'esp_offload drop_padlen, XfrmInStateProtoError',
    'padding': 'esp_offload drop_padding, XfrmInStateProtoError',
    'dummy': 'esp_offload drop_dummy, XfrmInStateProtoError',
    'hdr': 'XfrmInHdrError (shorter than an ESP header)',
    'nostate': 'XfrmInNoStates (SPI of no SA)',
    'ok': 'decrypted (rx_packets) and delivered to the listener',
    'nh': 'decrypted (rx_packets); the inner protocol drops it',
    'nh_ipsec': 'decrypted; next header ESP, AH or IPComp: the core parses '
                'it as one more IPsec header, finds no SA: XfrmInNoStates',
    'ike': 'ESP-in-UDP of 8 bytes or less, or with a zero non-ESP marker: '
           'passed to the port-4500 socket (RFC 3948 2.2)',
    'natt_small': 'ESP-in-UDP of 9-19 bytes: freed by xfrm4_udp_encap_rcv '
                  '(its "packet is too small" test measures from the UDP '
                  'header against the IP header length), no counter',
    'keepalive': 'ESP-in-UDP NAT keepalive (0xff): eaten, no counter',
    'udp_csum': 'UDP InCsumErrors and InErrors',
    'udp_short': 'UDP InErrors (length beyond the datagram)',
    'overlap': 'IP ReasmOverlaps (fragments overlap: queue dropped)',
    'timeout': 'IP ReasmTimeout (a fragment never came)',
}


class Fuzzer:
    def __init__(self, o):
        self.o = o
        self.rng = random.Random(o.seed)
        self.key = bytes.fromhex(o.key)
        self.counts = collections.Counter()
        self.per_sa = collections.Counter()
        self.ok_tags = []
        self.reasm = 0          # datagrams the receiver must reassemble
        self.n = 0
        self.seq = SEQ_BASE
        self.side_seq = 0
        self.ident = self.rng.randrange(1, 0x8000)
        self.pkts = []          # (kind, bytes) in send order

    # --- building blocks ----------------------------------------------

    def next_seq(self):
        self.seq += 1
        return self.seq

    def tag(self, cls):
        self.n += 1
        return 'FZ%d-%s-%d' % (self.o.seed, cls, self.n)

    def datagram(self, text, size=0):
        body = text.encode()
        if size > len(body):
            body += b' ' * (size - len(body))
        return ei.udp_datagram(self.o.src, self.o.dst, 40000, self.o.port, body)

    @staticmethod
    def trailer(plen, padlen=None, nexthdr=17, pad=None):
        if padlen is None:
            padlen = (-(plen + 2)) % 4
        if pad is None:
            pad = bytes(range(1, padlen + 1))
        return pad + bytes([padlen, nexthdr])

    def sealed(self, plain, spi=None, seq=None):
        spi = self.o.spi if spi is None else spi
        seq = self.next_seq() if seq is None else seq
        return ei.seal(self.key, spi, seq, plain)

    def side(self, plain):
        """Packets that decrypt go to the side SA: on the traffic SA they
        would move the replay window past the traffic's own numbers."""
        self.side_seq += 1
        return ei.seal(self.key, self.o.side_spi, self.side_seq, plain)

    @staticmethod
    def module_verdict(plain):
        """esp_offload's trailer checks on a plaintext that decrypted."""
        elen = len(plain)
        padlen, nexthdr = plain[-2], plain[-1]
        if padlen + 2 > elen:
            return 'padlen'
        if plain[elen - 2 - padlen:elen - 2] != bytes(range(1, padlen + 1)):
            return 'padding'
        if nexthdr == 59:
            return 'dummy'
        if padlen + 2 == elen:
            return 'trunc'
        return None

    def base_plain(self, cls, size=0):
        """A well-formed plaintext: a UDP datagram to the listener whose
        text names the packet, padded with 3 bytes (every single-bit flip
        of that pad length breaks the padding check)."""
        t = self.tag(cls)
        d = self.datagram(t, size)
        if (len(d) + 2) % 4 != 1:
            d = self.datagram(t, max(size, len(t)) + (1 - (len(d) + 2)) % 4)
        return d + self.trailer(len(d), 3), t

    def count(self, cls, esp):
        assert cls in CLASSES, cls
        self.counts[cls] += 1
        if len(esp) >= 4:
            self.per_sa[(struct.unpack('!I', esp[:4])[0], cls)] += 1

    def esp(self, cls, data):
        self.count(cls, data)
        self.pkts.append(('esp', data, cls))

    def natt(self, cls, esp, uh=None):
        if uh is None:
            uh = ei.udp_datagram(self.o.src, self.o.dst, 4500, 4500, esp)
        self.count(cls, uh[8:])
        self.pkts.append(('udp', uh, cls))

    def frags(self, cls, esp, sizes, order, overlap=False, drop_last=False):
        """esp cut into IPv4 fragments of the given sizes (multiples of
        8 but the last), sent in the given order."""
        self.ident = self.ident % 0xfffe + 1
        pieces, off = [], 0
        for s in sizes:
            if off + s >= len(esp):
                break
            pieces.append((off, esp[off:off + s]))
            off += s
        pieces.append((off, esp[off:]))
        last = pieces[-1][0]
        if overlap:
            # The first two fragments, then one that starts inside the
            # second and runs past it, with other contents: the queue is
            # dropped before the rest is sent.
            # (An overlap inside the queue is taken for a duplicate and
            # dropped alone; one that also runs past its end kills it.)
            o1, d1 = pieces[1]
            pieces = pieces[:2] + [(o1 + 16, bytes(len(d1)))]
        out = []
        for i in order(len(pieces)):
            off, data = pieces[i]
            if drop_last and off == last:
                continue
            mf = off != last
            out.append(ei.ipv4_header(self.o.src, self.o.dst, IPPROTO_ESP,
                                      len(data), self.ident, off, mf) + data)
        self.count(cls, esp)
        if cls not in ('overlap', 'timeout') and len(pieces) > 1:
            self.reasm += 1
        for f in out[:-1]:
            self.pkts.append(('raw', f, None))
        self.pkts.append(('raw', out[-1], cls))

    # --- the systematic set ---------------------------------------------

    @staticmethod
    def natt_class(p, esp_class):
        """What becomes of UDP payload p sent to port 4500 before ESP
        processing (RFC 3948 2.2 and the kernel's UDP encapsulation)."""
        if p == b'\xff':
            return 'keepalive'
        if len(p) <= 8 or p[:4] == bytes(4):
            return 'ike'
        if len(p) < 20:
            return 'natt_small'
        return esp_class

    def esp_classify_trunc(self, n):
        return 'hdr' if n < 8 else 'trunc' if n < MIN_ESP else 'icv'

    def systematic(self):
        o = self.o
        # Truncation at every offset, ESP and ESP-in-UDP.
        plain, _ = self.base_plain('trunc')
        full = self.sealed(plain)
        for n in range(len(full)):
            self.esp(self.esp_classify_trunc(n), self.sealed(plain)[:n])
        plain, _ = self.base_plain('ntrunc')
        for n in range(len(full)):
            p = self.sealed(plain, spi=o.natt_spi)[:n]
            self.natt(self.natt_class(p, self.esp_classify_trunc(n)), p)

        # Every bit of every field flipped after sealing: SPI (no SA),
        # sequence number, IV, ciphertext (which covers payload, padding,
        # pad length and next header) and ICV (all: ICV failure).
        plain, _ = self.base_plain('flip')
        for bit in range(8 * len(self.sealed(plain, seq=1))):
            p = bytearray(self.sealed(plain))
            p[bit // 8] ^= 0x80 >> (bit % 8)
            self.esp('nostate' if bit < 32 else 'icv', bytes(p))
        plain, _ = self.base_plain('nflip')
        for bit in range(64 + 8 * len(self.sealed(plain, seq=1))):
            p = self.sealed(plain, spi=o.natt_spi)
            u = bytearray(ei.udp_datagram(o.src, o.dst, 4500, 4500, p))
            u[bit // 8] ^= 0x80 >> (bit % 8)
            if bit >= 64:
                self.natt('nostate' if bit < 96 else 'icv', None,
                          ei.udp_datagram(o.src, o.dst, 4500, 4500, bytes(u[8:])))
                continue
            if u[6:8] == bytes(2):
                continue        # checksum 0: "none", the packet is valid
            ulen = struct.unpack('!H', u[4:6])[0]
            cls = 'udp_short' if ulen > len(u) or ulen < 8 else 'udp_csum'
            self.natt(cls, None, bytes(u))

        # The same fields, flipped in the plaintext and sealed again with
        # a valid ICV: the module's own checks, not the ICV, must refuse.
        plain, _ = self.base_plain('pflip')
        for bit in range(8, 16):        # pad length
            p = bytearray(plain)
            p[-2] ^= 1 << (bit - 8)
            self.esp(self.module_verdict(p), self.sealed(bytes(p)))
        for k in range(3):              # padding bytes
            for bit in range(8):
                p = bytearray(plain)
                p[-5 + k] ^= 1 << bit
                self.esp(self.module_verdict(p), self.sealed(bytes(p)))

        # Pad lengths 0-255, valid ICV: padding bytes wrong, pad length
        # past the payload, and (side SA) the legal padding delivered.
        for padlen in range(256):
            if padlen:
                t = self.tag('padding')
                d = self.datagram(t)
                pad = bytearray(range(1, padlen + 1))
                pad[self.rng.randrange(padlen)] ^= 1 << self.rng.randrange(8)
                p = d + self.trailer(len(d), padlen, 17, bytes(pad))
                self.esp(self.module_verdict(p), self.sealed(p))
            junk = bytes(self.rng.randrange(256) for _ in range(max(padlen - 1, 0)))
            p = junk + bytes([padlen, 17])
            self.esp(self.module_verdict(p), self.sealed(p))
            t = self.tag('okpad')
            d = self.datagram(t)
            self.esp('ok', self.side(d + self.trailer(len(d), padlen)))
            self.ok_tags.append(t)

        # Every next header 0-255 with a valid ICV and padding: 59 is a
        # dummy packet (traffic SA); the rest decrypt (side SA) and the
        # inner protocol decides: only 17 reaches the listener.
        for nh in range(256):
            t = self.tag('nh%d' % nh)
            d = self.datagram(t)
            p = d + self.trailer(len(d), None, nh)
            if nh == 59:
                self.esp('dummy', self.sealed(p))
            elif nh == 17:
                self.esp('ok', self.side(p))
                self.ok_tags.append(t)
            else:
                self.esp('nh_ipsec' if nh in (50, 51, 108) else 'nh', self.side(p))

        # Tiny: a one-byte payload of protocol 253 (RFC 3692), and an
        # empty one (all padding). Maximum: a 65535-byte IP datagram,
        # fragmented by the sender, broken and intact.
        self.esp('nh', self.side(b'x' + self.trailer(1, None, 253)))
        self.esp('trunc', self.sealed(self.trailer(0, 2)))
        # (65512: the largest 4-byte aligned ESP payload of an IPv4
        # datagram; the broken one is padded to 65515, the very maximum.)
        maxesp = 65512
        for cls in ('icv', 'padding', 'ok'):
            plain, t = self.base_plain(cls, maxesp - HDR - ICV - 8 - 5)
            assert len(plain) == maxesp - HDR - ICV, len(plain)
            if cls == 'icv':
                p = bytearray(self.sealed(plain) + b'\0\0\0')
                p[-1] ^= 1
            elif cls == 'padding':
                p = self.sealed(plain[:-5] + bytes(3) + plain[-2:])
            else:
                p = self.side(plain)
                self.ok_tags.append(t)
            self.esp(cls, bytes(p))
            self.reasm += 1

        # IP fragments of ESP, built by hand.
        plain, t = self.base_plain('frag', 100)
        self.frags('ok', self.side(plain), [8] * 20, lambda n: reversed(range(n)))
        self.ok_tags.append(t)
        p = bytearray(self.sealed(plain))
        p[-3] ^= 4
        self.frags('icv', bytes(p), [8, 64], lambda n: range(n))
        self.frags('padding', self.sealed(plain[:-5] + b'\7\7\7' + plain[-2:]),
                   [16] * 8, lambda n: reversed(range(n)))
        self.frags('trunc', self.sealed(plain)[:24], [8, 8], lambda n: range(n))
        self.frags('overlap', self.sealed(plain), [24, 24, 24], lambda n: range(n),
                   overlap=True)
        self.frags('timeout', self.sealed(plain), [32, 32], lambda n: range(n),
                   drop_last=True)

    # --- random mutations -------------------------------------------------

    def random_one(self):
        o, r = self.o, self.rng
        kind = r.randrange(6)
        natt = kind in (3, 4)
        spi = o.natt_spi if natt else o.spi
        plain, _ = self.base_plain('rnd', r.randrange(0, 200))
        if kind in (0, 3, 5):
            # Bit flips and length changes after sealing.
            p = bytearray(self.sealed(plain, spi=spi))
            orig = bytes(p)
            for _ in range(r.randint(1, 8)):
                b = r.randrange(len(p))
                p[b] ^= 1 << r.randrange(8)
            cut = r.randrange(4)
            if cut == 1:
                p = p[:r.randrange(len(p))]
            elif cut == 2:
                p += bytes(r.randrange(256) for _ in range(r.randint(1, 40)))
            p = bytes(p)
            if p == orig:
                p = p[:-1]
            if natt and self.natt_class(p, None):
                cls = self.natt_class(p, None)
            elif len(p) < 8:
                cls = 'hdr'
            elif p[:4] != orig[:4]:
                cls = 'nostate' if struct.unpack('!I', p[:4])[0] not in \
                    (o.spi, o.side_spi, o.natt_spi, o.churn_spi) else 'icv'
            elif len(p) < MIN_ESP:
                cls = 'trunc'
            else:
                cls = 'icv'
            if cls == 'icv' and p[:4] != orig[:4]:
                cls = 'icv_other'
            if cls == 'icv_other':
                return self.random_one()    # landed on another SA: redo
            if kind == 5 and len(p) >= 8 and cls != 'hdr':
                sizes = [8 * r.randint(1, 8) for _ in range(r.randint(1, 6))]
                self.frags(cls, p, sizes, lambda n: r.sample(range(n), n))
            elif natt:
                self.natt(cls, p)
            else:
                self.esp(cls, p)
            return
        # A random trailer sealed with a valid ICV: the module must find
        # it wrong (outcomes that would decrypt are drawn again).
        while True:
            body = plain[:-5] if r.randrange(2) else bytes(
                r.randrange(256) for _ in range(r.randrange(0, 64)))
            padlen = r.choice([r.randrange(256), r.randrange(8)])
            pad = bytearray(range(1, padlen + 1))
            if r.randrange(3):
                for _ in range(r.randint(1, 3)):
                    if pad:
                        pad[r.randrange(len(pad))] = r.randrange(256)
            nh = r.choice([17, 59, r.randrange(256)])
            p = body + bytes(pad) + bytes([padlen, nh])
            if r.randrange(4) == 0:
                p = p[-r.randint(2, len(p)):]
            cls = self.module_verdict(p)
            if cls:
                break
        if natt:
            q = self.sealed(p, spi=spi)
            self.natt(self.natt_class(q, cls), q)
        else:
            self.esp(cls, self.sealed(p))

    def churn(self):
        """Packets for the SA the test deletes and adds again meanwhile:
        all broken (ICV, padding), so each is either refused by the
        module or finds no SA (or a dying one)."""
        o, r = self.o, self.rng
        for _ in range(o.count):
            plain, _ = self.base_plain('churn', r.randrange(0, 100))
            if r.randrange(2):
                p = bytearray(ei.seal(self.key, o.spi, self.next_seq(), plain))
                p[-1 - r.randrange(ICV)] ^= 1 << r.randrange(8)
                self.esp('icv', bytes(p))
            else:
                p = plain[:-5] + b'\0\0\0' + plain[-2:]
                self.esp('padding', ei.seal(self.key, o.spi, self.next_seq(), p))

    # --- sending ------------------------------------------------------------

    def send(self):
        o = self.o
        esp = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ESP)
        udp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for s in (esp, udp):
            s.bind((o.src, 0))
            # Let the sender fragment the 64 KiB datagrams itself.
            s.setsockopt(socket.IPPROTO_IP, 10, 0)   # IP_MTU_DISCOVER: DONT
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        socks = {'esp': esp, 'udp': udp, 'raw': raw}
        dst = (o.dst, 0)
        start = time.time()
        probe = Probe(o.probe_pid) if o.probe_pid else None
        # Spread over at least --min-seconds, so that the traffic on the
        # same SAs gets the CPU in between (TCG guests have two).
        step = o.min_seconds / max(len(self.pkts), 1)
        for i, (kind, data, cls) in enumerate(self.pkts):
            ahead = start + i * step - time.time()
            if ahead > 0.005:
                time.sleep(ahead)
            for attempt in range(100):
                try:
                    socks[kind].sendto(data, dst)
                    break
                except OSError as e:
                    # ENOBUFS: the device queue is full; let it drain.
                    if e.errno != 105:
                        raise
                    time.sleep(0.01)
            if probe and cls:
                probe.check(i, kind, cls, data)
            if o.pace and i % o.pace == o.pace - 1:
                time.sleep(0.002)
        return time.time() - start


class Probe:
    """Debugging aid: after each packet, which counters moved, compared
    with its class (slow; prints one line per surprise)."""
    WANT = {
        'icv': 'm_drop_icv', 'trunc': 'm_drop_truncated',
        'padlen': 'm_drop_padlen', 'padding': 'm_drop_padding',
        'dummy': 'm_drop_dummy', 'hdr': 'XfrmInHdrError',
        'nostate': 'XfrmInNoStates', 'nh_ipsec': 'XfrmInNoStates',
        'ok': 'm_rx_packets', 'nh': 'm_rx_packets',
        'udp_csum': 'UdpInCsumErrors', 'udp_short': 'UdpInErrors',
        'overlap': 'IpExtReasmOverlaps',
    }

    def __init__(self, pid):
        self.pid = pid
        self.last = self.read()

    def read(self):
        c = {}
        # (ip netns exec mounts its own /sys: go through PID 1's view.)
        with open('/proc/1/root/sys/kernel/debug/esp_offload/stats') as f:
            for line in f:
                k, v = line.split()
                c['m_' + k] = int(v)
        with open('/proc/%d/net/xfrm_stat' % self.pid) as f:
            for line in f:
                k, v = line.split()
                c[k] = int(v)
        for name in ('snmp', 'netstat'):
            with open('/proc/%d/net/%s' % (self.pid, name)) as f:
                lines = f.read().splitlines()
            for h, v in zip(lines[::2], lines[1::2]):
                h, v = h.split(), v.split()
                for k, x in zip(h[1:], v[1:]):
                    c[h[0][:-1] + k] = int(x)
        return c

    def check(self, i, kind, cls, data):
        now = self.read()
        moved = {k: now[k] - self.last.get(k, 0) for k in now
                 if now[k] != self.last.get(k, 0) and not k.startswith(
                     ('Ip', 'Icmp', 'm_rx_bytes', 'Tcp', 'UdpInDatagrams',
                      'UdpOutDatagrams', 'UdpLite'))
                 or k in ('IpExtReasmOverlaps', 'IpReasmOKs', 'IpReasmFails')
                 and now[k] != self.last.get(k, 0)}
        self.last = now
        want = self.WANT.get(cls)
        if want and moved.get(want) != 1:
            print('PROBE %d %s %s len %d %s moved %s' % (
                i, cls, kind, len(data), data[:40].hex(), moved), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('phase', choices=('main', 'churn'))
    p.add_argument('--seed', type=int, required=True)
    p.add_argument('--count', type=int, required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--src', default='192.0.2.1')
    p.add_argument('--dst', default='192.0.2.2')
    p.add_argument('--key', required=True)
    p.add_argument('--spi', type=lambda s: int(s, 0), required=True)
    p.add_argument('--side-spi', type=lambda s: int(s, 0), required=True)
    p.add_argument('--natt-spi', type=lambda s: int(s, 0), required=True)
    p.add_argument('--churn-spi', type=lambda s: int(s, 0), default=0)
    p.add_argument('--port', type=int, default=9999)
    p.add_argument('--pace', type=int, default=0)
    p.add_argument('--min-seconds', type=float, default=0)
    p.add_argument('--dry-run', action='store_true')
    p.add_argument('--go-file', help='after building, wait for this file')
    p.add_argument('--probe-pid', type=int, default=0,
                   help='check the counters after every packet, reading '
                   "the receiver's through a process in its namespace")
    o = p.parse_args()
    f = Fuzzer(o)
    t0 = time.time()
    if o.phase == 'main':
        f.systematic()
        systematic = sum(f.counts.values())
        while sum(f.counts.values()) < o.count:
            f.random_one()
    else:
        systematic = 0
        f.churn()
    built = time.time() - t0
    if o.go_file:
        # Built before the traffic starts (under emulation the two would
        # share the CPUs); send when the test says so.
        print('built', flush=True)
        deadline = time.time() + 300
        while not os.path.exists(o.go_file) and time.time() < deadline:
            time.sleep(0.05)
    sent = 0.0 if o.dry_run else f.send()
    with open(o.out, 'w') as out:
        for c in CLASSES:
            out.write('%s %d\n' % (c, f.counts[c]))
        out.write('total %d\n' % sum(f.counts.values()))
        out.write('systematic %d\n' % systematic)
        out.write('ip_packets %d\n' % len(f.pkts))
        out.write('reasm %d\n' % f.reasm)
        out.write('side_seq %d\n' % f.side_seq)
        out.write('build_s %.1f\nsend_s %.1f\n' % (built, sent))
        for (spi, c), n in sorted(f.per_sa.items()):
            out.write('sa 0x%08x %s %d\n' % (spi, c, n))
        for t in f.ok_tags:
            out.write('tag %s\n' % t)
    return 0


if __name__ == '__main__':
    sys.exit(main())
