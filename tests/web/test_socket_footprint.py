"""What an idle wall's socket holds is kept small (loadtests/README.md, "Memory per socket"): the protocol's
receive queue and writable flag behave as asyncio's do without their per-socket deques, and a subscriber that
is in step holds no queue."""

from __future__ import annotations

import asyncio

import pytest

from floor.fanout import Hub
from floor.web.frames import Flag, Inbox
from floor.wire import Audience

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_inbox_hands_messages_in_order_to_a_waiting_receive_and_holds_nothing_once_read() -> None:
    inbox = Inbox()
    assert inbox.empty() and inbox.qsize() == 0
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "a"})
    assert await waiting == {"type": "websocket.connect"}
    assert inbox.qsize() == 1 and not inbox.empty()
    assert await inbox.get() == {"type": "websocket.receive", "text": "a"}
    assert inbox.empty() and inbox._items is None and inbox._waiters is None


async def test_a_cancelled_receive_does_not_lose_the_next_message_for_another() -> None:
    inbox = Inbox()
    cancelled, other = asyncio.create_task(inbox.get()), asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    inbox.put_nowait("disconnect")
    assert await asyncio.wait_for(other, 1) == "disconnect"


async def test_the_writable_flag_wakes_every_send_waiting_for_it() -> None:
    flag = Flag()
    assert not flag.is_set()
    flag.set()
    assert flag.is_set() and await flag.wait()
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert flag._waiters is None


async def test_a_subscriber_in_step_holds_no_queue() -> None:
    hub = Hub()
    sub = hub.subscribe("riverside", Audience.display)
    sub.join([(3, "snapshot")], 3)
    assert sub.backlog == 1
    assert await sub.next() == (3, "snapshot")
    assert sub.backlog == 0 and sub._queue is None
    sub.offer((4, "update"), b"")
    assert await sub.next() == (4, "update") and sub._queue is None
    sub.offer((3, "already in its snapshot"), b"")
    assert sub.backlog == 0
