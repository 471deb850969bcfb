"""CPU per socket of one update's fan-out, Floor's against the bare relay's, over real loopback WebSockets.

One process holds `--sockets` server-side WebSocket connections (the `websockets` library's asyncio server on
uvloop, as `../shared/bench/relay_limit.py` runs); a child process opens them and drains what comes. Then each
update (a 270-character text, the size of a hallway update) is sent to every socket, one mode after another,
`--rounds` times:

- `floor`: Floor's fan-out path: the frame made once for the audience, each socket offered it by its
  `Subscriber` and written by `floor.web.frames.FrameWriter` (flow control and closing state checked, then one
  `transport.write`), a tap's way: `floor.fanout.Delivery`, `--step` sockets per turn of the event loop
  (`floor.runtime.feed.FANOUT_STEP` by default), the turns' cost included;
- `relay`: what the relay does per message, `websockets.broadcast` (a frame built per connection);
- `bare`: one `transport.write` of a pre-built frame per socket, with no check at all: the floor under both.

It prints the CPU time (`time.process_time`, so other work on a busy machine inflates it far less than wall
time) per socket of each mode, median and best over the rounds. It measures only the walk over the sockets: the
tap's own path (HTTP, the log) and the latency a screen sees are `fanout.py`'s.

    .venv/bin/python loadtests/fanout_walk.py --sockets 1000 --rounds 60
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import uvloop
from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast, serve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import ROOT

sys.path.insert(0, str(ROOT))

from floor.fanout import Hub, text_frame
from floor.runtime.feed import FANOUT_STEP
from floor.web.frames import Flag, FrameWriter

TEXT = '{"kind":"event","seq":%d,"pad":"' + "x" * 240 + '"}'
MODES = ("floor", "relay", "bare")


def drain(port: int, count: int) -> None:
    """The child: open `count` sockets and read whatever comes until the server closes them."""

    async def one(ready: list[int]) -> None:
        async with connect(f"ws://127.0.0.1:{port}", max_queue=None, ping_interval=None, compression=None) as ws:
            ready.append(1)
            async for _ in ws:
                pass

    async def main() -> None:
        ready: list[int] = []
        await asyncio.gather(*(one(ready) for _ in range(count)), return_exceptions=True)

    uvloop.run(main())


class Shim:
    """What FrameWriter reads of uvicorn's protocol, over a `websockets` server connection."""

    def __init__(self, connection) -> None:
        self.conn = connection.protocol
        self.transport = connection.transport
        self.close_sent = self.disconnected = False
        self.writable = Flag()
        self.writable.set()


async def walk(delivery, step: int) -> None:
    """Send a delivery as floor.runtime.feed does after a tap: `step` sockets per turn of the event loop."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def send() -> None:
        delivery.send(step)
        if delivery.done:
            done.set_result(None)
        else:
            loop.call_soon(send)

    loop.call_soon(send)
    await done


async def main(args: argparse.Namespace) -> None:
    connections: set = set()
    opened = asyncio.Event()

    async def handler(ws) -> None:
        connections.add(ws)
        if len(connections) == args.sockets:
            opened.set()
        try:
            await ws.wait_closed()
        finally:
            connections.discard(ws)

    async with serve(handler, "127.0.0.1", 0, max_queue=None, ping_interval=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        child = multiprocessing.Process(target=drain, args=(port, args.sockets), daemon=True)
        child.start()
        await asyncio.wait_for(opened.wait(), 120)
        hub = Hub()
        for ws in connections:
            hub.subscribe("c", "display", None, FrameWriter(Shim(ws)))
        conns = list(connections)
        cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
        seq = 0
        for _ in range(args.rounds):
            for mode in MODES:
                seq += 1
                text = TEXT % seq
                started = time.process_time()
                if mode == "floor":
                    await walk(hub.delivery("c", seq, {"display": text}.__getitem__), args.step)
                elif mode == "relay":
                    broadcast(conns, text)
                else:
                    frame = text_frame(text)
                    for ws in conns:
                        ws.transport.write(frame)
                cpu[mode].append(time.process_time() - started)
                await asyncio.sleep(args.gap)  # the child drains; the buffers are empty again
        for mode in MODES:
            per = [c / args.sockets * 1e6 for c in cpu[mode]]
            print(
                f"[{mode}] {args.sockets} sockets  CPU per socket: median {statistics.median(per):.2f} us  "
                f"best {min(per):.2f} us  ({args.rounds} updates)"
            )
        floor_, relay = (statistics.median(cpu[m]) for m in ("floor", "relay"))
        print(f"floor/relay CPU per update: {floor_ / relay:.2f}")
        for ws in conns:
            ws.transport.close()
    child.join(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000, help="WebSocket connections (1000)")
    parser.add_argument("--rounds", type=int, default=60, help="updates sent in each mode (60)")
    parser.add_argument(
        "--step", type=int, default=FANOUT_STEP, help=f"Floor's sockets per loop turn ({FANOUT_STEP}, as the server)"
    )
    parser.add_argument("--gap", type=float, default=0.03, help="seconds between two updates (0.03)")
    uvloop.run(main(parser.parse_args()))
