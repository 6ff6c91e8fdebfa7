"""Keys typed ahead are handled one at a time, each by the widget focused when its turn comes."""

from __future__ import annotations

from collections import deque
from typing import Any, TypeVar

from textual import events
from textual.app import App, ScreenStackError
from textual.message_pump import MessagePump
from textual.timer import Timer

KEY_LOOK_SECONDS = 0.5
"""How often a key in flight is looked at: if the widget holding it has closed (a screen was
dismissed under it), the key goes no further and stops holding the rest back."""

KEY_GIVE_UP_SECONDS = 10.0
"""A key still in flight after this long, on a widget that is alive, stops holding the rest back
(a last resort: on a loaded machine a key takes far less than this to be handled)."""


ResultT = TypeVar("ResultT")


class KeysInTurn(App[ResultT]):
    """An app that reads the next key only once the previous one has been fully handled.

    Textual hands a key to the widget focused when the app reads it, and a widget that does not
    use the key passes it up, through each parent's queue, back to the app, where bindings such
    as Tab run. A second key read before the first is back is handed to the old widget: "Tab,
    space" typed in one burst (a fast typist, or a loaded machine reading both at once) put the
    space into the comment field the Tab was leaving, and the person's answer was lost. Here a
    key read while another is in flight waits its turn, so every key lands where the focus is
    after all the keys before it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._key_in_flight: events.Key | None = None
        self._key_holder: MessagePump | None = None
        self._key_looks = 0
        self._keys_waiting: deque[events.Key] = deque()
        self._key_timer: Timer | None = None

    @property
    def keys_pending(self) -> int:
        """Keys read but not yet fully handled (the one in flight and those waiting)."""
        return len(self._keys_waiting) + (self._key_in_flight is not None)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._key_in_flight is not None or self._keys_waiting:
                self._keys_waiting.append(event)
            else:
                await self._read_key(event)
            return
        await super().on_event(event)

    async def _read_key(self, key: events.Key) -> None:
        if self._closing or not self._running:
            self._keys_waiting.clear()  # the app is closing: no screen is left to take keys
            return
        try:
            holder: MessagePump = self.focused or self.screen
        except ScreenStackError:
            self._keys_waiting.clear()
            return
        self._key_in_flight = key
        await super().on_event(key)
        if not key.is_forwarded:  # a priority binding (ctrl+q) took it here and now
            self._key_done(key)
            return
        self._key_looks = 0
        self._key_timer = self.set_interval(KEY_LOOK_SECONDS, lambda: self._look_at(key))
        self._follow(key, holder)

    def _follow(self, key: events.Key, holder: MessagePump) -> None:
        """Look again once ``holder`` has handled ``key`` (its queue is first in, first out)."""
        self._key_holder = holder
        if not holder.call_later(self._handled_by, key, holder):
            self._key_done(key)  # the holder closed: the key goes no further

    def _look_at(self, key: events.Key) -> None:
        """Release ``key`` if the widget holding it has closed, or after the last resort."""
        self._key_looks += 1
        holder = self._key_holder
        closed = holder is None or holder._closing or holder._closed
        if closed or self._key_looks * KEY_LOOK_SECONDS >= KEY_GIVE_UP_SECONDS:
            self._key_done(key)

    def _handled_by(self, key: events.Key, holder: MessagePump) -> None:
        parent = holder._parent  # the pump the key bubbled to, if it was not used
        if holder is self or key._stop_propagation or parent is None:
            self._key_done(key)
        else:
            self._follow(key, parent)

    def _key_done(self, key: events.Key) -> None:
        if self._key_in_flight is not key:
            return  # already released (the give-up timer and the last look both fire)
        if self._key_timer is not None:
            self._key_timer.stop()
            self._key_timer = None
        self._key_in_flight = None
        self._key_holder = None
        if self._keys_waiting:
            self.call_later(self._next_key)

    async def _next_key(self) -> None:
        if self._key_in_flight is None and self._keys_waiting:
            await self._read_key(self._keys_waiting.popleft())
