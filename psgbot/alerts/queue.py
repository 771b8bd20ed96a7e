"""Claimed sends waiting for the dispatcher's pool."""

from __future__ import annotations

import heapq
import itertools
from collections import deque

from psgbot.alerts.sends import Send


class SendQueue:
    """Claimed sends waiting for the pool: most urgent, then oldest, first, and one at a time
    per chat, so a chat's messages arrive in order and a chat found blocked gets no more."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Send]] = []  # the next send of each idle chat
        self._later: dict[int, deque[Send]] = {}  # per busy chat, its other sends in order
        self._order = itertools.count()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def ready(self) -> bool:
        return bool(self._heap)

    def push(self, send: Send) -> None:
        self._size += 1
        if send.chat_id in self._later:
            self._later[send.chat_id].append(send)
        else:
            self._later[send.chat_id] = deque()
            heapq.heappush(self._heap, (send.priority, next(self._order), send))

    def pop(self) -> Send:
        self._size -= 1
        return heapq.heappop(self._heap)[2]

    def finished(self, chat_id: int) -> None:
        """The chat's send in flight is done: its next one may go."""
        later = self._later.get(chat_id)
        if later:
            send = later.popleft()
            heapq.heappush(self._heap, (send.priority, next(self._order), send))
        else:
            self._later.pop(chat_id, None)

    def drop(self, chat_id: int) -> list[Send]:
        """Takes every waiting send to ``chat_id`` off the queue."""
        dropped = list(self._later.get(chat_id) or ())
        if chat_id in self._later:
            self._later[chat_id] = deque()  # still busy if a send is in flight
        kept = [entry for entry in self._heap if entry[2].chat_id != chat_id]
        if len(kept) != len(self._heap):
            # Its next send was waiting, so none is in flight: the chat is idle again.
            dropped += [entry[2] for entry in self._heap if entry[2].chat_id == chat_id]
            heapq.heapify(kept)
            self._heap = kept
            self._later.pop(chat_id, None)
        self._size -= len(dropped)
        return dropped
