"""Talking to ``psgbot run`` as a separate process: waiting on it, HTTP to its listeners, its
memory, and updates as Telegram would POST them to the webhook."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from email.message import Message


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def http_exchange(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    """One request; the status, headers and body of the answer, errors included."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    status, _headers, answer = http_exchange(method, url, body, headers)
    return status, answer


def start_message(update_id: int, chat_id: int = 77) -> dict[str, object]:
    """The update Telegram sends when a supporter in a private chat types /start."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def start_update(update_id: int) -> bytes:
    return json.dumps(start_message(update_id)).encode()


def raw_post(
    port: int, path: str, headers: dict[str, str], body: Iterable[bytes] = ()
) -> tuple[int | None, int]:
    """POSTs over a plain socket, sending ``body`` piece by piece until the server stops
    taking it; returns the answer's status code (None if it was lost to a reset) and how many
    body bytes were sent.

    With no body the answer shows what the server decided from the headers alone.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(head.encode("latin-1") + b"\r\n")
        sent = 0
        try:
            for piece in body:
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: the rest is never read
        answer = b""
        try:
            while b"\r\n" not in answer:
                received = sock.recv(4096)
                if not received:
                    break
                answer += received
        except ConnectionResetError:
            pass
    status_line = answer.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 else None), sent


def repeated(block: bytes, total: int) -> Iterator[bytes]:
    """``total`` bytes made of ``block``, generated as they are sent, never held at once."""
    left = total
    while left > 0:
        yield block[:left]
        left -= len(block)


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces in HTTP chunked encoding, without the closing empty chunk."""
    for piece in pieces:
        yield b"%x\r\n%s\r\n" % (len(piece), piece)


def resident_kib(pid: int) -> int:
    """The process's resident memory (VmRSS) in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")
