"""The TCP echo semantics again over IPv6 (::1), for implementations that declare it."""

from echo_conformance.check import twin

from . import test_tcp_concurrency as concurrency, test_tcp_echo as echo

test_tcp6_echo_unbuffered = twin(
    echo.test_tcp_echo_unbuffered, "tcp6.echo.unbuffered", ip="ipv6",
    requirement="Over IPv6 (::1): data without a trailing newline is echoed while the connection stays open.")

test_tcp6_halfclose_large = twin(
    echo.test_tcp_halfclose_large, "tcp6.halfclose.large", ip="ipv6",
    requirement="Over IPv6 (::1): after the client's half-close, every remaining byte comes back, then EOF.")

test_tcp6_concurrent_many = twin(
    concurrency.test_tcp_concurrent_many, "tcp6.concurrent.many", ip="ipv6",
    requirement="Over IPv6 (::1): a concurrent server echoes 64 clients connected at the same time.")
