"""Python `websockets` running Autobahn's client loop against a fuzzingserver
(Autobahn's or `wscope-check --serve`): /getCaseCount, each case echoing every
message as it came until the server closes, then /updateReports. `websockets`
at its defaults (permessage-deflate offered), except no keepalive pings and no
message size limit, which would add frames or refusals of their own.

    python autobahn_client.py ws://127.0.0.1:9001 [AGENT]
"""
import asyncio
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

BASE = (sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001").rstrip("/")
AGENT = sys.argv[2] if len(sys.argv) > 2 else "websockets"


async def run_case(n):
    try:
        async with connect(f"{BASE}/runCase?case={n}&agent={AGENT}", max_size=None, ping_interval=None) as ws:
            async for message in ws:
                await ws.send(message)
    except (WebSocketException, OSError, asyncio.TimeoutError):
        pass  # a failed connection is the checker's to judge


async def main():
    started = time.monotonic()
    async with connect(f"{BASE}/getCaseCount") as ws:
        count = int(await ws.recv())
    for n in range(1, count + 1):
        await run_case(n)
    async with connect(f"{BASE}/updateReports?agent={AGENT}", open_timeout=600) as ws:
        try:
            await ws.recv()
        except WebSocketException:
            pass
    print(f"{AGENT}: {count} cases in {time.monotonic() - started:.1f} s", flush=True)


asyncio.run(main())
