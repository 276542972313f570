#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Build ESP packets independently of the kernel (RFC 4303 + RFC 4106 with
the cryptography library's AES-GCM) and send them on a raw socket,
well-formed or broken in one chosen way, so a test can check how the
receiver treats them.

  esp_inject.py SRC DST SPI KEYHEX SEQ CASE [--esn [--esn-hi N]] [--port P] [--text T]
  esp_inject.py --stdin      (the same arguments, one packet per line)
  esp_inject.py --raw SRC DST HEX...   (ESP packets given byte for byte)
  esp_inject.py --raw-stdin SRC DST    (one hex packet per line, "sent" after each)

The payload is a UDP datagram to DST:P carrying T (transport mode).
CASE: valid tamper-ct tamper-icv tamper-seq truncate-icv truncate-hdr
      bad-padlen bad-padding dummy short
"""
import argparse
import ipaddress
import shlex
import socket
import struct
import sys

IPPROTO_ESP = 50


def csum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp_payload(src, dst, port, text):
    """The inner UDP datagram with a correct checksum."""
    return udp_datagram(src, dst, 40000, port, text.encode())


def trailer(plain_len, case):
    """Padding to a 4-byte boundary, pad length, next header."""
    padlen = (-(plain_len + 2)) % 4
    pad = bytes(range(1, padlen + 1))
    nexthdr = 59 if case == 'dummy' else 17
    if case == 'bad-padlen':
        return pad + bytes([200, nexthdr])
    if case == 'bad-padding':
        padlen = padlen or 4
        return bytes([9] * padlen) + bytes([padlen, nexthdr])
    return pad + bytes([padlen, nexthdr])


_aead = {}


def seal(key, spi, seq, plain, esn=False, esn_hi=0, iv=None, icvlen=16,
         gmac=False):
    """An ESP packet (header, IV, ciphertext, ICV) for a complete
    plaintext (payload and trailer), RFC 4106 AES-GCM or, with gmac,
    RFC 4543 (payload in the clear, authenticated with the header and
    IV). key is the AES key followed by the 4-byte salt; the ICV is cut
    to icvlen bytes (8, 12 or 16)."""
    # Imported here: sending packets given byte for byte (--raw) does not
    # need it, and its import is slow under emulation.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aes, salt = key[:-4], key[-4:]
    if aes not in _aead:
        _aead[aes] = AESGCM(aes)
    hdr = struct.pack('!II', spi, seq & 0xffffffff)
    if iv is None:
        iv = struct.pack('!Q', (esn_hi << 32) | (seq & 0xffffffff))
    aad = struct.pack('!III', spi, esn_hi, seq & 0xffffffff) if esn else hdr
    if gmac:
        tag = _aead[aes].encrypt(salt + iv, b'', aad + iv + plain)
        return hdr + iv + plain + tag[:icvlen]
    sealed = _aead[aes].encrypt(salt + iv, plain, aad)
    return hdr + iv + sealed[:len(plain)] + sealed[len(plain):][:icvlen]


def udp_datagram(src, dst, sport, dport, body):
    """A UDP header and body with a correct checksum."""
    length = 8 + len(body)
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if len(a) == 4:
        pseudo = a + b + struct.pack('!BBH', 0, socket.IPPROTO_UDP, length)
    else:
        pseudo = a + b + struct.pack('!I3xB', length, socket.IPPROTO_UDP)
    hdr = struct.pack('!HHHH', sport, dport, length, 0)
    c = csum(pseudo + hdr + body) or 0xffff
    return struct.pack('!HHHH', sport, dport, length, c) + body


def ipv4_header(src, dst, proto, payload_len, ident=0, frag_off=0, mf=False,
                ttl=64):
    """An IPv4 header (for IP_HDRINCL: fragments built by hand)."""
    flags = (0x2000 if mf else 0) | (frag_off >> 3)
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, ident, flags,
                    ttl, proto, 0, ipaddress.ip_address(src).packed,
                    ipaddress.ip_address(dst).packed)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:]


def build(args):
    key = bytes.fromhex(args.key)
    spi, seq = int(args.spi, 0), args.seq
    plain = b'' if args.case == 'dummy' else udp_payload(
        args.src, args.dst, args.port, args.text)
    plain += trailer(len(plain), args.case)
    pkt = bytearray(seal(key, spi, seq, plain, args.esn, args.esn_hi))
    if args.case == 'tamper-ct':
        pkt[20] ^= 0x01
    elif args.case == 'tamper-icv':
        pkt[-1] ^= 0x80
    elif args.case == 'tamper-seq':
        pkt[4:8] = struct.pack('!I', seq + 1)
    elif args.case == 'truncate-icv':
        pkt = pkt[:-4]
    elif args.case == 'truncate-hdr':
        pkt = pkt[:16]
    elif args.case == 'short':
        pkt = pkt[:4]
    return bytes(pkt)


def parser():
    p = argparse.ArgumentParser()
    for a in ('src', 'dst', 'spi', 'key'):
        p.add_argument(a)
    p.add_argument('seq', type=int)
    p.add_argument('case')
    p.add_argument('--esn-hi', type=int, default=0)
    p.add_argument('--esn', action='store_true', help='ESN SA: hi bits in AAD')
    p.add_argument('--port', type=int, default=9999)
    p.add_argument('--text', default='esp_inject')
    p.add_argument('--count', type=int, default=1)
    return p


def inject(args):
    esp = build(args)
    fam = socket.AF_INET6 if ':' in args.dst else socket.AF_INET
    # A raw ESP socket: the kernel adds the IP header, we own the rest.
    with socket.socket(fam, socket.SOCK_RAW, IPPROTO_ESP) as s:
        s.bind((args.src, 0))
        for _ in range(args.count):
            s.sendto(esp, (args.dst, 0))


def send_raw(src, dst, packets):
    """ESP packets exactly as given (header, IV, ciphertext, ICV)."""
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    with socket.socket(fam, socket.SOCK_RAW, IPPROTO_ESP) as s:
        s.bind((src, 0))
        for p in packets:
            s.sendto(p, (dst, 0))


def main():
    if sys.argv[1:2] == ['--raw']:
        send_raw(sys.argv[2], sys.argv[3], [bytes.fromhex(h) for h in sys.argv[4:]])
        return 0
    if sys.argv[1:2] == ['--raw-stdin']:
        print('ready', flush=True)
        for line in sys.stdin:
            send_raw(sys.argv[2], sys.argv[3], [bytes.fromhex(line.strip())])
            print('sent', flush=True)
        return 0
    # --stdin: one packet description per line, "sent" after each, so a
    # test pays for the interpreter's start-up once.
    if sys.argv[1:] == ['--stdin']:
        print('ready', flush=True)
        for line in sys.stdin:
            inject(parser().parse_args(shlex.split(line)))
            print('sent', flush=True)
        return 0
    inject(parser().parse_args())
    return 0


if __name__ == '__main__':
    sys.exit(main())
