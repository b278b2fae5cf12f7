"""Interop: the Python `websockets` client, with its own permessage-deflate
(zlib underneath), against wscope-server's /echo.

Run by `cargo xtask test` (step "interop") in a virtualenv it makes once:
    python deflate_client.py ws://127.0.0.1:PORT/echo
Prints one line per case ("ok NAME" or "FAIL NAME: why") and a last line
"interop: N passed, M failed"; exits 1 if any case failed.
"""

import sys

from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.sync.client import connect

SIZES = [0, 1, 31, 32, 125, 126, 1000, 65535, 65536, 1 << 20]


def echo_everything(url, extensions, expect_deflate):
    with connect(url, extensions=extensions, compression=None, max_size=1 << 24, open_timeout=10) as ws:
        agreed = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
        if bool(agreed) != expect_deflate:
            raise AssertionError(f"permessage-deflate agreed: {bool(agreed)}, expected {expect_deflate}")
        for size in SIZES:
            text = ("wscope é€😀 " * (size // 8 + 1))[:size]
            ws.send(text)
            got = ws.recv(timeout=10)
            if got != text:
                raise AssertionError(f"text of {size} characters came back different")
            data = bytes((i * 7) % 251 for i in range(size))
            ws.send(data)
            got = ws.recv(timeout=10)
            if got != data:
                raise AssertionError(f"binary of {size} bytes came back different")
        # A fragmented message (the client compresses it across frames).
        parts = ["frag", "mented ", "text " * 2000]
        ws.send(iter(parts))
        if ws.recv(timeout=10) != "".join(parts):
            raise AssertionError("fragmented text came back different")
        ws.close(code=4000, reason="interop done")
        if ws.close_code != 4000 or ws.close_reason != "interop done":
            raise AssertionError(f"close echoed as {ws.close_code} {ws.close_reason!r}")


def main():
    url = sys.argv[1]
    cases = [
        ("default offer (client_max_window_bits)", [ClientPerMessageDeflateFactory(client_max_window_bits=True)], True),
        ("no context takeover both ways",
         [ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True)], True),
        ("small windows (server 10, client 9)",
         [ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=9)], True),
        ("server window 9, no context takeover",
         [ClientPerMessageDeflateFactory(server_max_window_bits=9, server_no_context_takeover=True)], True),
        ("server window 8 is declined, plain echo", [ClientPerMessageDeflateFactory(server_max_window_bits=8)], False),
        ("no offer", None, False),
    ]
    failed = 0
    for name, extensions, expect in cases:
        try:
            echo_everything(url, extensions, expect)
            print(f"ok   {name}")
        except Exception as e:  # report and go on
            failed += 1
            print(f"FAIL {name}: {e!r}")
    try:
        echo_everything(url.replace("/echo", "/echo?deflate=off"), [ClientPerMessageDeflateFactory()], False)
        print("ok   /echo?deflate=off refuses it")
    except Exception as e:
        failed += 1
        print(f"FAIL /echo?deflate=off refuses it: {e!r}")
    total = len(cases) + 1
    print(f"interop: {total - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
