#!/usr/bin/python3
"""Real TCP/MPTCP peers for the tests: bytes in, SHA-256 out.

  peer.py serve ADDR PORT [--mptcp] [--ready FILE] [--stall SECS]
      accept one connection, read to EOF, send back the hex SHA-256 of what
      arrived, print it and the client's address (and, for an MPTCP
      listener, whether the connection really is MPTCP: "mptcp" or "tcp");
      with --ready, create FILE once listening; with --stall, wait SECS
      before reading anything (a slow reader).
  peer.py send ADDR PORT NBYTES [--mptcp] [--report SECS]
      send NBYTES of random data, half-close, read the server's digest and
      exit 0 only if it matches; prints the digest. With --report, first
      prints on stderr how many bytes the network took in the first SECS.
  peer.py serve-reset ADDR PORT [--mptcp] [--ready FILE]
      accept one connection, read 100 kB, then reset it (SO_LINGER 0).
  peer.py send-until-reset ADDR PORT [--mptcp]
      send until the connection fails; exit 0 only if it was reset.
  peer.py source ADDR PORT NBYTES [--ready FILE]
      accept one connection, send NBYTES of random data, close; print the
      digest and the client's address (as serve does).
  peer.py sink ADDR PORT
      connect, read to EOF, print the digest of what arrived.
  peer.py convert-send MCP_ADDR MCP_PORT DST_ADDR DST_PORT NBYTES [--late] [--src ADDR] [--tcp]
      a Multipath Client of the plain mode: an MPTCP connection to the MCP
      whose SYN data (TCP Fast Open, no cookie) is an MP_CONVERT naming
      DST_ADDR and DST_PORT (0: none, the MCP then uses MCP_PORT), an EOL
      and the first bytes; then the rest of NBYTES random bytes, as send.
      With --late, no SYN data: the same bytes follow the handshake (as when
      a middlebox drops SYN data). With --src, a second MP_CONVERT (D bit
      set) asks the MCP to use ADDR as the source; with --tcp, the same over
      plain TCP (no MP_CAPABLE: the MCP must ignore it). Prints the digest,
      or "reset: ..." (exit 3) when the MCP resets or refuses.
  peer.py md5-serve ADDR PORT PEER [--ready FILE]
  peer.py md5-send ADDR PORT NBYTES
      TCP with a TCP-MD5 signature (RFC 2385) on every segment, the key bound
      to PEER (the server) or ADDR (the client): serve prints the digest and
      the client's address, send prints the digest.
  peer.py probe ADDR PORT [--mptcp]
      one connection attempt (a single SYN); refused is fine.
  peer.py hold-serve ADDR PORT [--ready FILE]
      accept connections until killed, reading and dropping what they send;
      print "connection from ADDR" for each.
  peer.py keep-n ADDR PORT N SECS [--ready FILE]
      open N TCP connections (FILE created once all are), then send a byte
      on each every 100 ms for SECS; print "kept K of N, lost L" (lost: a
      send failed, or the peer reset or closed it).
  peer.py partial-heads ADDR PORT N [--hold SECS] [--fin]
      open N MPTCP connections, each sending the first 3 bytes of a 22-byte
      MP_CONVERT and no more (with --fin, then a FIN); wait up to SECS
      (default 10) for the peer to end each; print "ended K of N in S s".
  peer.py send-reset ADDR PORT NBYTES [--mptcp]
      connect, send NBYTES, then reset (SO_LINGER 0) without waiting.
  peer.py serve-then-reset ADDR PORT NBYTES [--ready FILE] [--count K]
      accept one connection, send NBYTES, wait until the peer's stack has
      acknowledged all of them (SIOCOUTQ 0), then reset it; print
      "acked NBYTES". With --count, K connections one after the other.
  peer.py recv-late ADDR PORT SECS [--count K]
      connect with a small receive buffer, read nothing for SECS, then
      read to the end; print "received N reset" or "received N eof". With
      --count, K connections, all opened first, one such line each.
  peer.py open-n ADDR PORT N [--hold SECS] [--mptcp]
      open N connections one after the other, each sending a byte; print
      "ok" for each still standing 1 s later, "reset" for each reset or
      closed; keep them open SECS more (default 0), then close them.
  peer.py load-send ADDRS PORT N [--sizes MIN:MAX] [--up|--down] [--gate FILE]
                 [--started FILE] [--deadline SECS] [--seed S] [--via MCP_ADDR:PORT]
      N connections at once, to the comma-separated ADDRS in turn (each a
      server's address: IPv4 and IPv6 mix), uploads and downloads in turn
      (--up, --down: one kind only), each of a random size in MIN..MAX
      bytes (default 1000:200000); the load-serve protocol below. One line
      per connection, "ID DIR ADDR SIZE DIGEST OUTCOME" (DIR U or D, DIGEST
      the SHA-256 of the payload sent or received here, OUTCOME ok, reset,
      eof, mismatch, refused, timeout or error:NAME), then on stderr
      "load: N connections in S s: ok A reset B eof C mismatch D refused E
      timeout F error G; sent X bytes, received Y bytes" (every byte
      written and read, headers and digests included). Exit 0 only if all
      are ok. With --gate, each sender sends half its payload, then 1 KB
      every 50 ms of the next quarter until FILE exists, then the rest (so
      the transfers are in flight until the test says); --started FILE is
      created once every connection is past its first half (sent for an
      upload, received for a download). --deadline (default 120 s) bounds
      the whole run: connections not ended by then are "timeout". With
      --via MCP_ADDR:PORT each connection is a Multipath Client's of the plain
      mode: MPTCP to that MCP, an MP_CONVERT naming the server and an EOL
      first in the stream (no SYN data), then the same protocol.
  peer.py load-serve ADDRS PORT [--count N] [--stop FILE] [--ready FILE]
                 [--gate FILE] [--started FILE] [--deadline SECS]
      the other end of load-send, listening on each of ADDRS: a connection
      opens with "U ID SIZE\n" (the client sends SIZE bytes, then their
      hex SHA-256; the server checks it and answers with its own) or
      "D ID SIZE\n" (the server sends SIZE bytes and their digest, then
      half-closes; the client checks, answers with its own digest, which
      the server checks). Prints "ID DIR PEER SIZE DIGEST OUTCOME" for each
      connection (PEER the client's address as seen here) once it ends,
      and on stderr "serve: K connections: ok A ..." at the end. Ends
      after N connections (--count), or once FILE (--stop) exists and no
      connection is open, or at the deadline (default 120 s); exit 0 only
      if every connection was ok (and N came). --gate and --started as for
      load-send (--started needs --count: all N past their first half).
"""
import errno
import hashlib
import os
import socket
import struct
import sys
import time

IPPROTO_MPTCP = 262


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sock(addr, mptcp):
    return socket.socket(family(addr), socket.SOCK_STREAM, IPPROTO_MPTCP if mptcp else 0)


def listener(addr, port, mptcp, ready, backlog=1):
    """Listen, then announce readiness by creating the file `ready`."""
    s = sock(addr, mptcp)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    if ready:
        open(ready, "w").close()
    return s


def accept_one(addr, port, mptcp, ready):
    """Listen, announce readiness, accept one client."""
    return listener(addr, port, mptcp, ready).accept()


def serve(addr, port, mptcp, ready, stall=0):
    c, peer = accept_one(addr, port, mptcp, ready)
    time.sleep(stall)
    kind = ""
    if mptcp:
        # SO_PROTOCOL says whether the client spoke MPTCP or fell back
        kind = " mptcp" if c.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) == IPPROTO_MPTCP else " tcp"
    h = hashlib.sha256()
    total = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        total += len(b)
    c.sendall(h.hexdigest().encode())
    c.close()
    print(h.hexdigest(), peer[0] + kind)
    print(f"serve: received {total} bytes", file=sys.stderr)


def send_random(s, n, report=None):
    """Send n random bytes on s; return their SHA-256 object. With report
    (seconds), print on stderr the bytes sent when that much time has passed."""
    h = hashlib.sha256()
    sent, start = 0, time.monotonic()
    while n:
        b = os.urandom(min(n, 65536))
        h.update(b)
        view = memoryview(b)
        while view:
            if report is not None and time.monotonic() - start >= report:
                print(f"sent {sent} bytes in {report} s", file=sys.stderr, flush=True)
                report = None
            try:
                k = s.send(view)
            except socket.timeout:
                continue
            view, sent, n = view[k:], sent + k, n - k
    return h


def send(addr, port, n, mptcp, report=None):
    s = sock(addr, mptcp)
    s.settimeout(20)
    s.connect((addr, port))
    # short timeouts while reporting, so a full window can't block past the moment
    s.settimeout(0.1 if report is not None else 20)
    h = send_random(s, n, report)
    s.settimeout(20)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(128)
        if not b:
            break
        got += b
    print(h.hexdigest())
    if got.decode() != h.hexdigest():
        sys.exit(f"peer: digest mismatch: sent {h.hexdigest()}, server saw {got.decode()}")


def serve_reset(addr, port, mptcp, ready):
    c, _ = accept_one(addr, port, mptcp, ready)
    got = 0
    while got < 100000:
        b = c.recv(65536)
        if not b:
            sys.exit("peer: the client closed before the reset")
        got += len(b)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def send_until_reset(addr, port, mptcp):
    s = sock(addr, mptcp)
    s.settimeout(20)
    s.connect((addr, port))
    try:
        for _ in range(10000):  # 640 MB: far more than any test path carries in 20 s
            s.sendall(bytes(65536))
    except (ConnectionResetError, BrokenPipeError) as e:
        print(f"reset: {e.__class__.__name__}")
        return
    sys.exit("peer: the connection was never reset")


def source(addr, port, n, ready):
    c, peer = accept_one(addr, port, False, ready)
    h = send_random(c, n)
    c.close()
    print(h.hexdigest(), peer[0])


def sink(addr, port):
    s = sock(addr, False)
    s.settimeout(60)
    s.connect((addr, port))
    h = hashlib.sha256()
    while True:
        b = s.recv(65536)
        if not b:
            break
        h.update(b)
    print(h.hexdigest())


TCP_MD5SIG = 14
MD5_KEY = b"xmcp-test-key"


def md5sig(peer):
    """struct tcp_md5sig for an IPv4 peer: sockaddr_storage, flags, prefixlen, keylen, ifindex, key."""
    sa = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + socket.inet_aton(peer)
    return sa.ljust(128, b"\0") + struct.pack("=BBHI", 0, 0, len(MD5_KEY), 0) + MD5_KEY.ljust(80, b"\0")


def md5_serve(addr, port, peer, ready):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(peer))
    s.bind((addr, port))
    s.listen(1)
    if ready:
        open(ready, "w").close()
    c, a = s.accept()
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
    print(h.hexdigest(), a[0])


def md5_send(addr, port, n):
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(addr))
    s.settimeout(10)
    s.connect((addr, port))
    print(send_random(s, n).hexdigest())
    s.close()


MSG_FASTOPEN = 0x20000000
TCP_FASTOPEN_NO_COOKIE = 34


def mp_convert(addr, port=0, source=False):
    """One MP_CONVERT option (draft-boucadair section 4): kind 30, length,
    subtype 0xe with the D bit, protocol TCP, address, optional port."""
    a = socket.inet_pton(family(addr), addr)
    tail = struct.pack("!H", port) if port else b""
    return bytes([30, 4 + len(a) + len(tail), 0xE0 | (0x08 if source else 0), 6]) + a + tail


def convert_send(mcp, mcp_port, dst, dst_port, n, late=False, src=None, mptcp=True):
    s = sock(mcp, mptcp)
    s.settimeout(20)
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
    data = os.urandom(n)
    digest = hashlib.sha256(data).hexdigest()
    try:
        opts = mp_convert(dst, dst_port) + (mp_convert(src, 0, True) if src else b"")
        head = opts + b"\0" + data[:1000]
        if late:
            s.connect((mcp, mcp_port))
            sent = s.send(head)
        else:
            # the head and the first bytes ride in the SYN
            sent = s.sendto(head, MSG_FASTOPEN, (mcp, mcp_port))
        s.sendall(data[max(0, sent - len(opts) - 1):])
        s.shutdown(socket.SHUT_WR)
        got = s.recv(128).decode()
    except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError) as e:
        print(f"reset: {type(e).__name__}")
        sys.exit(3)
    except OSError as e:
        # a reset that came before shutdown(): the kernel closed the socket
        # and reports no error then, only that it is not connected any more
        if e.errno != errno.ENOTCONN:
            raise
        print("reset: ENOTCONN")
        sys.exit(3)
    print(digest)
    if got != digest:
        sys.exit(f"peer: digest mismatch: sent {digest}, server saw {got}")


def probe(addr, port, mptcp):
    s = sock(addr, mptcp)
    s.settimeout(3)
    try:
        s.connect((addr, port))
    except (ConnectionRefusedError, socket.timeout):
        pass


def recv_or_end(s, n):
    """Up to n bytes from s; b"" at its end or on its error (a reset)."""
    try:
        return s.recv(n)
    except OSError:
        return b""


def hold_serve(addr, port, ready):
    import selectors
    s = sock(addr, False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    if ready:
        open(ready, "w").close()
    while True:
        for key, _ in sel.select():
            if key.fileobj is s:
                c, peer = s.accept()
                print(f"connection from {peer[0]}", flush=True)
                sel.register(c, selectors.EVENT_READ)
                continue
            if not recv_or_end(key.fileobj, 65536):
                sel.unregister(key.fileobj)
                key.fileobj.close()


def still_up(s):
    """After a byte was sent: alive if nothing comes back within 1 s."""
    s.settimeout(1)
    try:
        return s.recv(1) != b""
    except socket.timeout:
        return True
    except OSError:
        return False


def open_n(addr, port, n, hold, mptcp):
    socks = []
    for _ in range(n):
        s = sock(addr, mptcp)
        s.settimeout(5)
        try:
            s.connect((addr, port))
            s.sendall(b"x")
            print("ok" if still_up(s) else "reset", flush=True)
        except OSError:
            print("reset", flush=True)
        socks.append(s)
    time.sleep(hold)
    for s in socks:
        s.close()


def keep_n(addr, port, n, secs, ready):
    """N connections kept busy: a byte on each every 100 ms for SECS (so a
    router's resilient hash buckets see them active); a connection whose
    send fails, or that the peer resets or closes, is lost."""
    socks = []
    for _ in range(n):
        s = sock(addr, False)
        s.settimeout(5)
        s.connect((addr, port))
        s.setblocking(False)
        socks.append(s)
    if ready:
        open(ready, "w").close()
    lost = set()
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for i, s in enumerate(socks):
            if i in lost:
                continue
            try:
                s.send(b"x")
                if s.recv(1, socket.MSG_PEEK) == b"":
                    lost.add(i)
            except BlockingIOError:
                pass
            except OSError:
                lost.add(i)
        time.sleep(0.1)
    print(f"kept {n - len(lost)} of {n}, lost {len(lost)}")
    for s in socks:
        s.close()


def partial_heads(addr, port, n, hold, fin):
    import selectors
    sel = selectors.DefaultSelector()
    for _ in range(n):
        s = sock(addr, True)
        s.settimeout(5)
        s.connect((addr, port))
        s.send(bytes([30, 22, 0xE0]))
        if fin:
            s.shutdown(socket.SHUT_WR)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    start, ended = time.monotonic(), 0
    while ended < n and time.monotonic() - start < hold:
        for key, _ in sel.select(timeout=0.1):
            if not recv_or_end(key.fileobj, 64):
                sel.unregister(key.fileobj)
                ended += 1
    print(f"ended {ended} of {n} in {time.monotonic() - start:.1f} s")


def send_reset(addr, port, n, mptcp):
    s = sock(addr, mptcp)
    s.settimeout(20)
    s.connect((addr, port))
    s.sendall(os.urandom(n))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("sent")


def serve_then_reset(addr, port, n, ready, count=1):
    import fcntl
    import termios
    s = listener(addr, port, False, ready, 64)
    for _ in range(count):
        c, _ = s.accept()
        c.sendall(os.urandom(n))
        for _ in range(600):
            if struct.unpack("i", fcntl.ioctl(c, termios.TIOCOUTQ, b"\0\0\0\0"))[0] == 0:
                break
            time.sleep(0.05)
        else:
            sys.exit("peer: the bytes were never all acknowledged")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        print(f"acked {n}", flush=True)


def read_to_end(s):
    got = 0
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return f"received {got} eof"
            got += len(b)
    except ConnectionResetError:
        return f"received {got} reset"


def recv_late(addr, port, secs, count=1):
    socks = []
    for _ in range(count):
        s = sock(addr, False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect((addr, port))
        socks.append(s)
    time.sleep(secs)
    for s in socks:
        print(read_to_end(s), flush=True)


# --- many transfers at once (load-send, load-serve; tests/bats/load.bats) ---

LOAD_CHUNK = 65536
LOAD_TRICKLE = 1024
LOAD_OUTCOMES = ("ok", "reset", "eof", "mismatch", "refused", "timeout", "error")


class LoadConn:
    """One connection's account: bytes each way, digest, outcome."""

    def __init__(self, ident="-", kind="-", addr="-", size=0):
        self.id, self.kind, self.addr, self.size = ident, kind, addr, size
        self.digest, self.outcome = "-", None
        self.sent = self.received = 0

    def line(self):
        return f"{self.id} {self.kind} {self.addr} {self.size} {self.digest} {self.outcome}"


def load_outcome(e):
    """The outcome a failed connection's exception stands for."""
    import asyncio
    if isinstance(e, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(e, (asyncio.IncompleteReadError, EOFError)):
        return "eof"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    # a reset that came before a shutdown() or write: the socket is closed, not connected
    if isinstance(e, OSError) and e.errno == errno.ENOTCONN:
        return "reset"
    return "error:" + type(e).__name__


class LoadHalf:
    """Counts connections past their first half; creates FILE when all N are."""

    def __init__(self, path, n):
        self.path, self.n, self.k = path, n, 0

    def __call__(self):
        self.k += 1
        if self.path and self.k == self.n:
            open(self.path, "w").close()


async def load_write(c, writer, b):
    writer.write(b)
    await writer.drain()
    c.sent += len(b)


async def load_read(c, reader, n):
    b = await reader.read(n)
    c.received += len(b)
    return b


async def load_read_to_end(c, reader):
    """What comes until EOF."""
    got = b""
    while True:
        b = await load_read(c, reader, LOAD_CHUNK)
        if not b:
            return got
        got += b


async def load_gate(c, reader, gate, put):
    """Until the gate file exists: put() the trickle's next bit every 50 ms,
    and watch the peer, which sends nothing meanwhile: its EOF or reset ends
    the wait at once (else a held sender would not see the connection die)."""
    import asyncio
    watch = asyncio.ensure_future(reader.read(1))
    try:
        while not os.path.exists(gate):
            if watch.done():
                if watch.result():
                    raise ValueError("the peer sent before its turn")
                raise EOFError("the peer ended while the transfer was held")
            await put()
            await asyncio.sleep(0.05)
    finally:
        # the reader is free again only once the cancelled read has ended
        watch.cancel()
        try:
            await watch
        except (asyncio.CancelledError, OSError, EOFError):
            pass


async def load_send_payload(c, reader, writer, gate, past_half):
    """c.size random bytes, then their hex digest; with a gate, held back as
    load-send's help says. Returns the digest."""
    h = hashlib.sha256()
    sent, half = 0, c.size // 2

    async def put(n):
        nonlocal sent
        b = os.urandom(n)
        h.update(b)
        await load_write(c, writer, b)
        sent += n

    while sent < half:
        await put(min(LOAD_CHUNK, half - sent))
    past_half()
    if gate:
        trickle_end = half + (c.size - half) // 2
        await load_gate(c, reader, gate, lambda: put(max(0, min(LOAD_TRICKLE, trickle_end - sent))))
    while sent < c.size:
        await put(min(LOAD_CHUNK, c.size - sent))
    await load_write(c, writer, h.hexdigest().encode())
    return h.hexdigest()


async def load_recv_payload(c, reader, past_half):
    """c.size bytes and the digest that follows them: (digest of what came, the one announced)."""
    import asyncio
    h = hashlib.sha256()
    got, half, seen = 0, c.size // 2, False
    while got < c.size:
        if not seen and got >= half:
            past_half()
            seen = True
        b = await load_read(c, reader, min(LOAD_CHUNK, c.size - got))
        if not b:
            raise EOFError(f"{got} of {c.size} bytes")
        h.update(b)
        got += len(b)
    if not seen:
        past_half()
    trailer = b""
    while len(trailer) < 64:
        b = await load_read(c, reader, 64 - len(trailer))
        if not b:
            raise asyncio.IncompleteReadError(trailer, 64)
        trailer += b
    return h.hexdigest(), trailer.decode(errors="replace")


def load_close(c, writer):
    """Closed, or reset when it did not end well (nothing left half-open)."""
    if c.outcome == "ok":
        writer.close()
    else:
        writer.transport.abort()


async def load_as_sender(c, reader, writer, gate, past_half):
    """This end sends c's payload, then reads the other end's digest of it."""
    c.digest = await load_send_payload(c, reader, writer, gate, past_half)
    writer.write_eof()
    reply = (await load_read_to_end(c, reader)).decode(errors="replace")
    c.outcome = "ok" if reply == c.digest else "eof" if len(reply) < 64 else "mismatch"


async def load_as_receiver(c, reader, writer, past_half):
    """This end reads c's payload (its announced digest at the end), then answers with its own."""
    c.digest, announced = await load_recv_payload(c, reader, past_half)
    await load_write(c, writer, c.digest.encode())
    writer.write_eof()
    rest = await load_read_to_end(c, reader)
    c.outcome = "ok" if announced == c.digest and not rest else "mismatch"


async def load_connect(s, addr):
    """A non-blocking connect (asyncio's sock_connect resolves the address
    with the socket's protocol, which getaddrinfo does not know for MPTCP)."""
    import asyncio
    loop = asyncio.get_running_loop()
    err = s.connect_ex(addr)
    if err == errno.EINPROGRESS:
        done = loop.create_future()
        loop.add_writer(s.fileno(), lambda: done.done() or done.set_result(None))
        try:
            await done
        finally:
            loop.remove_writer(s.fileno())
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))


async def load_open(c, port, via):
    """c's connection: TCP to the server, or with via ("ADDR:PORT") MPTCP to
    that MCP with an MP_CONVERT head naming the server at the stream's start."""
    import asyncio
    if not via:
        return await asyncio.open_connection(c.addr, port, limit=LOAD_CHUNK)
    host, vport = via.rsplit(":", 1)
    host = host.strip("[]")
    s = sock(host, True)
    s.setblocking(False)
    await load_connect(s, (host, int(vport)))
    reader, writer = await asyncio.open_connection(sock=s, limit=LOAD_CHUNK)
    writer.write(mp_convert(c.addr, port) + b"\0")
    return reader, writer


async def load_client_conn(c, port, gate, past_half, via=None):
    reader, writer = await load_open(c, port, via)
    try:
        await load_write(c, writer, f"{c.kind} {c.id} {c.size}\n".encode())
        if c.kind == "U":
            await load_as_sender(c, reader, writer, gate, past_half)
        else:
            await load_as_receiver(c, reader, writer, past_half)
    finally:
        load_close(c, writer)


async def load_run(conns, coro, deadline):
    """Run coro(c) for every conn at once until all end or the deadline;
    each ends with c.outcome set."""
    import asyncio

    async def one(c):
        try:
            await coro(c)
        except Exception as e:  # noqa: BLE001 - every failure is an outcome
            c.outcome = c.outcome or load_outcome(e)
        if c.outcome is None:
            c.outcome = "error:none"

    tasks = [asyncio.ensure_future(one(c)) for c in conns]
    if tasks:
        await asyncio.wait(tasks, timeout=deadline)
    for t, c in zip(tasks, conns):
        if not t.done():
            t.cancel()
            c.outcome = "timeout"


def load_counts(conns):
    n = {o: 0 for o in LOAD_OUTCOMES}
    for c in conns:
        n[c.outcome.split(":")[0] if c.outcome.startswith("error:") else c.outcome] += 1
    return " ".join(f"{o} {n[o]}" for o in LOAD_OUTCOMES)


def load_send(addrs, port, n, sizes, kinds, gate, started, deadline, seed, via=None):
    import asyncio
    import random
    rng = random.Random(seed)
    conns = []
    for i in range(n):
        kind = kinds[(i // len(addrs)) % len(kinds)]
        conns.append(LoadConn(i, kind, addrs[i % len(addrs)], rng.randint(*sizes)))
    past_half = LoadHalf(started, n)
    start = time.monotonic()
    asyncio.run(load_run(conns, lambda c: load_client_conn(c, port, gate, past_half, via), deadline))
    for c in conns:
        print(c.line())
    print(f"load: {n} connections in {time.monotonic() - start:.1f} s: {load_counts(conns)}; "
          f"sent {sum(c.sent for c in conns)} bytes, received {sum(c.received for c in conns)} bytes",
          file=sys.stderr)
    sys.exit(0 if all(c.outcome == "ok" for c in conns) else 1)


async def load_serve_conn(c, reader, writer, gate, past_half):
    try:
        head = (await reader.readline()).decode(errors="replace").split()
        if len(head) != 3 or head[0] not in ("U", "D"):
            raise EOFError("no header")
        c.kind, c.id, c.size = head[0], head[1], int(head[2])
        if c.kind == "U":
            await load_as_receiver(c, reader, writer, past_half)
        else:
            await load_as_sender(c, reader, writer, gate, past_half)
    finally:
        load_close(c, writer)


def load_serve(addrs, port, count, stop, ready, gate, started, deadline):
    import asyncio
    conns, open_ = [], set()
    past_half = LoadHalf(started, count or 0)
    start = time.monotonic()

    async def handle(reader, writer):
        c = LoadConn(addr=writer.get_extra_info("peername")[0])
        conns.append(c)
        open_.add(c)
        try:
            await load_serve_conn(c, reader, writer, gate, past_half)
        except Exception as e:  # noqa: BLE001 - every failure is an outcome
            c.outcome = c.outcome or load_outcome(e)
        open_.discard(c)
        print(c.line(), flush=True)

    async def main():
        servers = []
        for a in addrs:
            s = sock(a, False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family(a) == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((a, port))
            servers.append(await asyncio.start_server(handle, sock=s, backlog=4096, limit=LOAD_CHUNK))
        if ready:
            open(ready, "w").close()
        while time.monotonic() - start < deadline:
            ended = len(conns) - len(open_)
            if count and ended >= count:
                break
            if stop and os.path.exists(stop) and not open_:
                break
            await asyncio.sleep(0.05)
        for s in servers:
            s.close()
        for c in list(open_):
            c.outcome = "timeout"
            print(c.line(), flush=True)

    asyncio.run(main())
    came = f" (of {count})" if count else ""
    print(f"serve: {len(conns)} connections{came} in {time.monotonic() - start:.1f} s: {load_counts(conns)}",
          file=sys.stderr)
    ok = all(c.outcome == "ok" for c in conns) and (not count or len(conns) >= count)
    sys.exit(0 if ok else 1)


def opt(a, name, default=None):
    """The value after the last option `name` in a (a later one overrides), or default."""
    return a[len(a) - 1 - a[::-1].index(name) + 1] if name in a else default


def main():
    a = sys.argv[1:]
    mptcp = "--mptcp" in a
    ready = a[a.index("--ready") + 1] if "--ready" in a else None
    stall = float(a[a.index("--stall") + 1]) if "--stall" in a else 0
    report = float(a[a.index("--report") + 1]) if "--report" in a else None
    count = int(a[a.index("--count") + 1]) if "--count" in a else 1
    if len(a) >= 3 and a[0] == "serve":
        serve(a[1], int(a[2]), mptcp, ready, stall)
    elif len(a) >= 4 and a[0] == "send":
        send(a[1], int(a[2]), int(a[3]), mptcp, report)
    elif len(a) >= 3 and a[0] == "serve-reset":
        serve_reset(a[1], int(a[2]), mptcp, ready)
    elif len(a) >= 3 and a[0] == "send-until-reset":
        send_until_reset(a[1], int(a[2]), mptcp)
    elif len(a) >= 4 and a[0] == "source":
        source(a[1], int(a[2]), int(a[3]), ready)
    elif len(a) >= 3 and a[0] == "sink":
        sink(a[1], int(a[2]))
    elif len(a) >= 6 and a[0] == "convert-send":
        src = a[a.index("--src") + 1] if "--src" in a else None
        convert_send(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), "--late" in a, src, "--tcp" not in a)
    elif len(a) >= 4 and a[0] == "md5-serve":
        md5_serve(a[1], int(a[2]), a[3], ready)
    elif len(a) >= 4 and a[0] == "md5-send":
        md5_send(a[1], int(a[2]), int(a[3]))
    elif len(a) >= 3 and a[0] == "hold-serve":
        hold_serve(a[1], int(a[2]), ready)
    elif len(a) >= 5 and a[0] == "keep-n":
        keep_n(a[1], int(a[2]), int(a[3]), float(a[4]), ready)
    elif len(a) >= 4 and a[0] == "open-n":
        hold = float(a[a.index("--hold") + 1]) if "--hold" in a else 0
        open_n(a[1], int(a[2]), int(a[3]), hold, mptcp)
    elif len(a) >= 4 and a[0] == "partial-heads":
        hold = float(a[a.index("--hold") + 1]) if "--hold" in a else 10
        partial_heads(a[1], int(a[2]), int(a[3]), hold, "--fin" in a)
    elif len(a) >= 4 and a[0] == "send-reset":
        send_reset(a[1], int(a[2]), int(a[3]), mptcp)
    elif len(a) >= 4 and a[0] == "serve-then-reset":
        serve_then_reset(a[1], int(a[2]), int(a[3]), ready, count)
    elif len(a) >= 4 and a[0] == "recv-late":
        recv_late(a[1], int(a[2]), float(a[3]), count)
    elif len(a) >= 3 and a[0] == "probe":
        probe(a[1], int(a[2]), mptcp)
    elif len(a) >= 4 and a[0] == "load-send":
        lo, hi = (int(x) for x in opt(a, "--sizes", "1000:200000").split(":"))
        kinds = "U" if "--up" in a else "D" if "--down" in a else "UD"
        load_send(a[1].split(","), int(a[2]), int(a[3]), (lo, hi), kinds, opt(a, "--gate"),
                  opt(a, "--started"), float(opt(a, "--deadline", 120)), opt(a, "--seed"), opt(a, "--via"))
    elif len(a) >= 3 and a[0] == "load-serve":
        load_serve(a[1].split(","), int(a[2]), int(opt(a, "--count", 0)), opt(a, "--stop"), ready,
                   opt(a, "--gate"), opt(a, "--started"), float(opt(a, "--deadline", 120)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
