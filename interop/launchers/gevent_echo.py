"""An echo server with gevent's StreamServer: the handler gets each connection's socket and
echoes with recv/sendall until the client's EOF (gevent.server docs).

Usage: python gevent_echo.py HOST PORT
"""
import sys

from gevent.server import StreamServer


def echo(sock, address):
    while data := sock.recv(8192):
        sock.sendall(data)


StreamServer((sys.argv[1], int(sys.argv[2])), echo).serve_forever()
