"""Twisted's own echo protocol (twisted.protocols.wire.Echo) on a TCP port, the way the
Twisted docs start a server: a factory, listenTCP, reactor.run().

Usage: python twisted_echo.py HOST PORT
"""
import sys

from twisted.internet import protocol, reactor
from twisted.protocols.wire import Echo

host, port = sys.argv[1], int(sys.argv[2])
reactor.listenTCP(port, protocol.Factory.forProtocol(Echo), interface=host)
reactor.run()
