"""The reference servers' poller behaves the same over epoll and over poll (the fallback where
there is no epoll), so the servers' behaviour does not depend on which one they got."""

from __future__ import annotations

import select
import socket

import pytest

from echo_conformance.implementations import _poller

POLLERS = [_poller._Poll] + ([_poller._Epoll] if hasattr(select, "epoll") else [])


@pytest.fixture(params=POLLERS, ids=lambda cls: cls.__name__)
def poller(request):
    p = request.param()
    yield p
    p.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_reports_readable_writable_and_the_peer_gone(poller, pair):
    a, b = pair
    poller.register(a.fileno(), _poller.IN)
    assert poller.poll(0) == []                      # nothing to read yet: no event, no wait
    b.send(b"x")
    assert poller.poll(1000) == [(a.fileno(), _poller.IN)]
    a.recv(1)
    poller.modify(a.fileno(), _poller.OUT)
    assert poller.poll(1000) == [(a.fileno(), _poller.OUT)]
    poller.modify(a.fileno(), 0)                     # nothing asked for: only the peer's end shows
    b.close()
    [(fd, events)] = poller.poll(1000)
    assert fd == a.fileno() and events & _poller.DEAD
    poller.unregister(a.fileno())
    assert poller.poll(0) == []


def test_the_timeout_is_in_milliseconds(poller, pair):
    import time

    poller.register(pair[0].fileno(), _poller.IN)
    start = time.monotonic()
    assert poller.poll(50) == []
    assert 0.04 <= time.monotonic() - start < 1.0
