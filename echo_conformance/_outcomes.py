"""How the client's waits end: the words of ``_client.Exchanged.ended`` (a TCP exchange or a
quiet window) and of ``_udp.Answer.verdict`` (one datagram's exchange), written once for the
helpers that return them and for the wire trace (``_wire``) that records them."""

# --- a TCP exchange, or a quiet window ---------------------------------------------------------
COMPLETE = "complete"  #: everything expected arrived
EOF = "eof"  #: the server closed its side (orderly FIN)
RESET = "reset"  #: the connection was reset (RST)
STALLED = "stalled"  #: no byte moved in either direction for the stall bound
SLOW = "slow"  #: bytes kept coming, but slower than Bounds.per_mib allows
TIMEOUT = "timeout"  #: data kept moving but the exchange passed Bounds.exchange

# --- one UDP datagram ----------------------------------------------------------------------------
ANSWERED = "answered"  #: its answer arrived, equal to it
LOST = "lost"  #: no answer, however often it was sent

# --- both --------------------------------------------------------------------------------------
#: what came back differs from what was sent (a byte of the echo, or the answer datagram):
#: waiting on cannot make it right
WRONG = "wrong"
