#!/usr/bin/env python3
"""Sends an exact number of keep-alive `GET /hello` requests, for
instructions.sh.

    count_client.py PORT CONNS PER_CONN

Opens CONNS connections to 127.0.0.1:PORT and sends PER_CONN requests on
each, one at a time: the next request on a connection leaves only when the
whole response to the previous one (head and Content-Length body) is in.
Every response must be a 200. Prints one line on stderr: how many responses,
in how long. Unlike wrk, it sends a fixed number of requests rather than
running for a fixed time, so that two runs differ only in that number.
"""

import selectors
import socket
import sys
import time


def response_length(buf):
    """Bytes of the first whole response in `buf`, or None if incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    at = head.find(b"\r\ncontent-length:")
    body = int(head[at + 17:].split(b"\r\n")[0]) if at >= 0 else 0
    total = end + 4 + body
    return total if len(buf) >= total else None


def main():
    port, conns, per_conn = (int(arg) for arg in sys.argv[1:4])
    request = f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    for _ in range(conns):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        sock.setblocking(False)
        # Per connection: unparsed bytes, requests still to send.
        selector.register(sock, selectors.EVENT_READ, [bytearray(), per_conn - 1])
    answered, open_conns, start = 0, conns, time.time()
    while open_conns:
        for key, _ in selector.select():
            sock, (buf, to_send) = key.fileobj, key.data
            data = sock.recv(65536)
            if not data:
                sys.exit("count_client: the server closed a connection")
            buf += data
            while (length := response_length(buf)) is not None:
                if not buf.startswith(b"HTTP/1.1 200 "):
                    sys.exit(f"count_client: not a 200: {bytes(buf[:40])!r}")
                del buf[:length]
                answered += 1
                if to_send == 0:
                    selector.unregister(sock)
                    sock.close()
                    open_conns -= 1
                    break
                to_send -= 1
                key.data[1] = to_send
                sock.sendall(request)
    seconds = time.time() - start
    print(f"{answered} responses in {seconds:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
