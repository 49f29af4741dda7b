"""Where a server listens: a loopback host and a port."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
