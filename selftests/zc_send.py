#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Send a file over TCP without copying it into the socket.

  zc_send.py METHOD ADDR PORT FILE

METHOD is sendfile (page-cache pages go into the packets), splice
(file -> pipe -> socket) or zerocopy (MSG_ZEROCOPY from a user buffer,
which stays pinned in the packets until the kernel reports completion).
Whatever ESP does to those packets, the source must not change: the
script prints "source intact" only if the file (re-read through the page
cache) and, for zerocopy, the user buffer still hash as before.
"""
import hashlib
import os
import select
import socket
import sys
import time

SO_ZEROCOPY = 60
MSG_ZEROCOPY = 0x4000000
SO_EE_ORIGIN_ZEROCOPY = 5


def send_zerocopy(sock, buf):
    sock.setsockopt(socket.SOL_SOCKET, SO_ZEROCOPY, 1)
    view = memoryview(buf)
    sent = calls = 0
    while sent < len(buf):
        n = sock.send(view[sent:sent + 65536], MSG_ZEROCOPY)
        sent += n
        calls += 1
    # Completions arrive on the error queue as ranges of send calls.
    done = 0
    deadline = time.monotonic() + 120
    while done < calls and time.monotonic() < deadline:
        select.select([], [], [sock], 1)
        try:
            _, anc, _, _ = sock.recvmsg(1, 4096, socket.MSG_ERRQUEUE)
        except BlockingIOError:
            continue
        for _, _, data in anc:
            # struct sock_extended_err: errno u32, origin u8, type u8,
            # code u8, pad u8, info u32, data u32 (info..data = range).
            origin = data[4]
            if origin == SO_EE_ORIGIN_ZEROCOPY:
                lo = int.from_bytes(data[8:12], sys.byteorder)
                hi = int.from_bytes(data[12:16], sys.byteorder)
                done += hi - lo + 1
    return done >= calls


def main():
    method, addr, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(path, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    sock = socket.create_connection((addr, port), timeout=120)
    # Blocking from here on: os.splice on a socket with a timeout (which
    # makes it non-blocking underneath) would fail with EAGAIN.
    sock.settimeout(None)
    ok = True
    with open(path, "rb") as f:
        if method == "sendfile":
            sock.sendfile(f)
        elif method == "splice":
            r, w = os.pipe()
            size = os.fstat(f.fileno()).st_size
            off = 0
            while off < size:
                n = os.splice(f.fileno(), w, min(65536, size - off), offset_src=off)
                off += n
                while n:
                    n -= os.splice(r, sock.fileno(), n)
            os.close(r)
            os.close(w)
        elif method == "zerocopy":
            buf = bytearray(f.read())
            ok = send_zerocopy(sock, buf)
            if not ok:
                print("zerocopy completions missing")
            if hashlib.sha256(buf).hexdigest() != want:
                print("user buffer changed")
                ok = False
        else:
            sys.exit("unknown method " + method)
    sock.shutdown(socket.SHUT_WR)
    sock.close()
    with open(path, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != want:
            print("file changed")
            ok = False
    if ok:
        print("source intact")
    sys.exit(0 if ok else 1)


main()
