"""_rawio's reader and writer do what sock.recv and sock.send do on a non-blocking TCP socket,
for every outcome the event-driven servers handle; and a closed connection's reader and writer
fail instead of reaching whichever socket gets its descriptor number next."""

from __future__ import annotations

import errno
import os
import socket
import struct

import pytest

from echo_conformance.implementations import _rawio, echo_reactor


@pytest.fixture
def pair():
    """A connected TCP pair on loopback, both ends non-blocking."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    for sock in (client, server):
        sock.setblocking(False)
    yield client, server
    client.close()
    server.close()


def wait_readable(sock):
    import select

    assert select.select([sock], [], [], 5)[0], "no data within 5 s"


def reset(sock):
    """Close with SO_LINGER 0: the peer gets RST, not FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("use_raw", [False, True], ids=["socket-methods", "rawio"])
def test_same_outcomes_as_the_socket_methods(pair, use_raw):
    client, server = pair
    recv = _rawio.reader(server, 65536) if use_raw else (lambda: server.recv(65536))
    send = _rawio.writer(server) if use_raw else server.send

    with pytest.raises(BlockingIOError):           # nothing to read yet
        recv()
    client.sendall(b"hello")
    wait_readable(server)
    assert recv() == b"hello"
    assert send(bytearray(b"echo")) == 4           # the servers send from bytearrays too
    wait_readable(client)
    assert client.recv(100) == b"echo"

    sent = 0
    with pytest.raises(BlockingIOError):           # the peer does not read: the buffer fills
        for _ in range(10_000):
            sent += send(b"x" * 65536)
    assert sent > 0

    client.shutdown(socket.SHUT_WR)                # the peer's EOF reads as b""
    wait_readable(server)
    assert recv() == b""


@pytest.mark.parametrize("use_raw", [False, True], ids=["socket-methods", "rawio"])
def test_a_reset_peer_raises_connection_reset(pair, use_raw):
    client, server = pair
    recv = _rawio.reader(server, 65536) if use_raw else (lambda: server.recv(65536))
    send = _rawio.writer(server) if use_raw else server.send
    reset(client)
    wait_readable(server)
    with pytest.raises(ConnectionResetError):
        recv()
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        send(b"x")


def test_closed_fails_like_a_closed_socket():
    for args in [(), (b"data",)]:
        with pytest.raises(OSError) as excinfo:
            _rawio.closed(*args)
        assert excinfo.value.errno == errno.EBADF


def test_a_closed_connection_cannot_reach_the_next_socket_with_its_number(pair):
    """echo_reactor's EchoConnection drops its descriptor-bound reader and writer on close: the
    next socket the process opens gets the same number at once."""
    client, server = pair
    reactor = echo_reactor.Reactor()
    try:
        conn = echo_reactor.EchoConnection(reactor, server)
        number = server.fileno()
        conn.handle_close()
        other = socket.socket()  # the kernel gives it the lowest free number: often that one
        if other.fileno() != number:
            os.dup2(other.fileno(), number)  # make certain
        try:
            for call, args in [(conn.recv, ()), (conn.send, (b"x",))]:
                with pytest.raises(OSError) as excinfo:
                    call(*args)
                assert excinfo.value.errno == errno.EBADF, f"reached the socket now at {number}: {excinfo.value}"
        finally:
            if other.fileno() != number:
                os.close(number)
            other.close()
    finally:
        reactor.close()
