"""Memory per idle wall socket, and where it goes: Floor's own server in this process under tracemalloc, the
sockets opened by a child process (so that their memory is not counted), then the server's growth per socket:
RSS (everything, C included) and what tracemalloc sees of Python's allocations, by the line that made them.

    .venv/bin/python loadtests/socket_memory.py --sockets 500
    .venv/bin/python loadtests/socket_memory.py --sockets 500 --frames 25   # the 25 lines holding the most

Small and short: a few hundred sockets on one clinic, idle (no taps), loopback only. tracemalloc slows the
server and adds its own bookkeeping to RSS (about a tenth), so RSS here is higher than in `fanout.py`'s
"per idle socket"; the split by line is what this is for. Run with `--no-trace` for RSS alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import ROOT, Process, display_tokens, free_port

sys.path.insert(0, str(ROOT))

CLINIC = "riverside"


async def clients(port: int, token: str, count: int) -> None:
    """The child: open `count` display sockets, say so on stdout, hold them until stdin closes."""
    from fanout import Screen, Screens

    screens = [
        Screen(CLINIC, port, f"/api/clinics/{CLINIC}/live", {"Authorization": f"Bearer {token}"}) for _ in range(count)
    ]
    holder = Screens(deflate=False, reconnect=False)
    opened = await holder.open(screens)
    print(f"open {opened:.2f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await holder.close()


def _grown(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, key: str, top: int, sockets: int) -> list[str]:
    lines = []
    stats = [s for s in after.compare_to(before, key) if s.size_diff > 0]
    for stat in stats[:top]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).as_posix().split('site-packages/')[-1].split('/wt-fanout/')[-1]}"
        if key == "lineno":
            where += f":{frame.lineno}"
        lines.append(f"  {stat.size_diff / sockets:8.0f} B  {stat.count_diff / sockets:5.1f} blocks  {where}")
    return lines


async def measure(args: argparse.Namespace) -> None:
    from floor.bootstrap import build_floors
    from floor.cli.serve import uvicorn_server
    from floor.config import demo_clinic
    from floor.logging_setup import configure
    from floor.settings import Settings

    data_dir = tempfile.mkdtemp(prefix="floor-socket-memory-")
    token = (await display_tokens([CLINIC], data_dir))[CLINIC]
    configure("warning")
    port = free_port()
    settings = Settings(data_dir=data_dir, host="127.0.0.1", port=port)
    floors = build_floors([demo_clinic()], settings)
    server = uvicorn_server(floors, settings)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    me = Process(os.getpid())

    def settle() -> None:
        gc.collect()
        time.sleep(0.2)

    settle()
    rss0 = me.memory()
    before = tracemalloc.take_snapshot() if args.trace else None
    child = subprocess.Popen(
        [sys.executable, __file__, "--client", str(port), token, str(args.sockets)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, child.stdout.readline)
    if not line.startswith("open"):
        raise SystemExit(f"the sockets did not open: {line!r}")
    await asyncio.sleep(2)  # the sockets' first heartbeat and snapshot sent, buffers drained
    settle()
    rss1 = me.memory()
    print(f"{args.sockets} idle display sockets on one clinic, opened in {line.split()[1]} s")
    print(
        f"RSS per socket: {(rss1 - rss0) / args.sockets / 1024:.1f} KiB "
        f"({'with' if args.trace else 'without'} tracemalloc)"
    )
    if before is not None:
        after = tracemalloc.take_snapshot()
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        before, after = before.filter_traces(filters), after.filter_traces(filters)
        total = sum(s.size_diff for s in after.compare_to(before, "filename"))
        print(f"Python allocations per socket (tracemalloc): {total / args.sockets / 1024:.1f} KiB")
        print("by file:")
        print("\n".join(_grown(before, after, "filename", 12, args.sockets)))
        print("by line:")
        print("\n".join(_grown(before, after, "lineno", args.frames, args.sockets)))
    child.stdin.close()
    await loop.run_in_executor(None, child.wait)
    server.should_exit = True
    await serving


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        import uvloop

        port, token, count = sys.argv[2:5]
        uvloop.run(clients(int(port), token, int(count)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=500, help="idle display sockets (at most 3000)")
    parser.add_argument("--frames", type=int, default=20, help="lines of the breakdown by line")
    parser.add_argument("--no-trace", dest="trace", action="store_false", help="RSS only, no tracemalloc")
    args = parser.parse_args()
    args.sockets = max(10, min(args.sockets, 3000))
    if args.trace:
        tracemalloc.start(1)
    import uvloop

    uvloop.run(measure(args))


if __name__ == "__main__":
    main()
