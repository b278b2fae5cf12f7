"""An echo server made with Python's `websockets` (asyncio API), for the
conformance checker's parity runs (CHECK.md): every message is sent back as
it came. Messages up to 32 MiB (Autobahn's 9.* send 16 MiB);
permessage-deflate as websockets negotiates it by default.

    python echo_server.py 127.0.0.1 9106
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(host, port):
    async with serve(echo, host, port, max_size=2**25, ping_interval=None) as server:
        print(f"websockets {host}:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
