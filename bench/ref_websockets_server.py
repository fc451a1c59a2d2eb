"""The bare reference for WebSocket fan-out: a minimal ``websockets`` broadcast server.

Every text frame a client sends goes to every connected client, encoded once
(``websockets.broadcast``); ``{"type":"ping"}`` is answered with a pong instead. It says
``{"type":"welcome"}`` once a connection is registered, so a client knows when it will
receive broadcasts. No framework, no database, no channel layer: what plain Python and
asyncio can do on this machine, the yardstick for bench/ws_fanout.py and bench/ws_idle.py.

    python -m bench.ref_websockets_server --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve

WELCOME = '{"type":"welcome"}'
PING = '{"type":"ping"}'
PONG = '{"type":"pong"}'

clients: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    clients.add(connection)
    try:
        await connection.send(WELCOME)
        async for frame in connection:
            if frame == PING:
                await connection.send(PONG)
            else:
                broadcast(clients, frame)
    finally:
        clients.discard(connection)


async def serve_until_stopped(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(handler, host, port, compression=None, max_queue=None, backlog=1024):
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(serve_until_stopped(args.host, args.port))


if __name__ == "__main__":
    main()
