"""Interop: the Python `websockets` client, compressing with its own
permessage-deflate (zlib underneath), through wscope-server's relay to
wscope's /echo; then the relay's log is read back and every message the
client sent and the echo returned must be there, decoded and inflated to
exactly what was sent, with no rule broken by either side.

Run by `cargo xtask test` (step "interop"):
    python relay_client.py ws://RELAY/echo LOG_FILE
(the relay started with --relay-log LOG_FILE and a --relay-log-payload
larger than the largest message). Prints one line per case ("ok NAME" or
"FAIL NAME: why") and a last line "interop: N passed, M failed"; exits 1 if
any case failed.
"""

import base64
import json
import sys
import time

from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect

SIZES = [0, 1, 125, 126, 1000, 65535, 65536, 300_000]


def messages():
    """What the client sends, in order."""
    out = []
    for size in SIZES:
        out.append(("wscope é€😀 relay " * (size // 10 + 1))[:size])
        out.append(bytes((i * 13) % 251 for i in range(size)))
    return out


def session(url, factory):
    """Sends every message (and a fragmented one), reads each echo; returns
    what was sent, in order."""
    sent = messages()
    with connect(url, extensions=[factory], compression=None, max_size=1 << 24, open_timeout=10) as ws:
        if not ws.protocol.extensions:
            raise AssertionError("permessage-deflate was not agreed through the relay")
        for m in sent:
            ws.send(m)
            if ws.recv(timeout=10) != m:
                raise AssertionError(f"a {type(m).__name__} of {len(m)} came back different")
        parts = ["frag", "mented ", "through the relay " * 500]
        ws.send(iter(parts))
        if ws.recv(timeout=10) != "".join(parts):
            raise AssertionError("the fragmented text came back different")
        sent.append("".join(parts))
        ws.close(code=1000, reason="relay interop done")
    return sent


def read_log(path, session_id):
    """The log's lines of one session, once its end line is there."""
    deadline = time.monotonic() + 10
    while True:
        lines = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                entry = json.loads(line)
                if entry.get("session") == session_id:
                    lines.append(entry)
        if any(e["type"] == "end" for e in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def payload(entry):
    if "text" in entry:
        return entry["text"]
    return base64.b64decode(entry["base64"])


def check_log(lines, sent, expect_params):
    if not any(e["type"] == "end" for e in lines):
        raise AssertionError("the session has no end line")
    deflate = [e for e in lines if e["type"] == "deflate"]
    if len(deflate) != 1 or deflate[0].get("params") is None:
        raise AssertionError(f"the agreed permessage-deflate is not logged: {deflate}")
    for key, value in expect_params.items():
        if deflate[0]["params"][key] != value:
            raise AssertionError(f"agreed {key} = {deflate[0]['params'][key]}, expected {value}")
    violations = [e for e in lines if e["type"] == "violation"]
    if violations:
        raise AssertionError(f"rules broken: {violations[:3]}")
    for side in ("client", "server"):
        got = [e for e in lines if e["type"] == "message" and e["from"] == side]
        if len(got) != len(sent):
            raise AssertionError(f"{len(got)} messages from the {side} logged, {len(sent)} expected")
        for i, (entry, m) in enumerate(zip(got, sent)):
            if entry["len"] != len(m.encode() if isinstance(m, str) else m):
                raise AssertionError(f"{side} message {i}: length {entry['len']}")
            if not entry["complete"] or entry["kept"] != entry["len"]:
                raise AssertionError(f"{side} message {i} not logged whole: {entry['kept']} of {entry['len']}")
            if payload(entry) != m:
                raise AssertionError(f"{side} message {i} inflated to something else than was sent")
        # The client compresses everything it sends (websockets does); the
        # large messages are smaller on the wire.
        if side == "client" and not all(e["compressed"] for e in got if e["len"] > 0):
            raise AssertionError("a client message was not compressed")
        big = [e for e in got if e["len"] >= 65536]
        if side == "client" and not all(e["wire_len"] < e["len"] for e in big):
            raise AssertionError("a large client message was not smaller on the wire")


def main():
    url, log = sys.argv[1], sys.argv[2]
    cases = [
        ("through the relay: default offer", ClientPerMessageDeflateFactory(client_max_window_bits=True), {}),
        ("through the relay: no context takeover both ways",
         ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True),
         {"server_no_context_takeover": True}),
        ("through the relay: small windows",
         ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=9),
         {"server_max_window_bits": 10, "client_max_window_bits": 9}),
    ]
    passed = failed = 0
    for session_id, (name, factory, params) in enumerate(cases, start=1):
        try:
            sent = session(url, factory)
            check_log(read_log(log, session_id), sent, params)
            print(f"ok {name}")
            passed += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            print(f"FAIL {name}: {e}")
            failed += 1
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
