"""A blocking signalling client for the socket tests: send protocol messages, expect answers, or crash."""
import json
import socket
import ssl
import urllib.request

import websocket

RECEIVE_TIMEOUT_S = 5.0  # only ever waited out when a test fails
QUIET_S = 0.3  # how long "nothing arrives" is watched for


def create_room(origin: str, kind: str, passcode: str | None = None, context: ssl.SSLContext | None = None) -> dict:
    """POST /api/rooms; the JSON answer."""
    body = {"kind": kind, **({"passcode": passcode} if passcode else {})}
    request = urllib.request.Request(f"{origin}/api/rooms", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=RECEIVE_TIMEOUT_S, context=context) as response:
        return json.load(response)


class Peer:
    """One page's signalling socket."""

    def __init__(self, origin: str, context: ssl.SSLContext | None = None):
        self.ws = websocket.create_connection(origin.replace("http", "ws", 1) + "/ws", timeout=RECEIVE_TIMEOUT_S,
                                              sslopt={"context": context} if context else None)
        self.peer_id: str | None = None

    def send(self, type_: str, **fields) -> None:
        self.ws.send(json.dumps({"type": type_, **fields}))

    def send_text(self, text: str) -> None:
        self.ws.send(text)

    def receive(self) -> dict:
        """The next message (fails the test after RECEIVE_TIMEOUT_S)."""
        opcode, frame = self.ws.recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_TEXT, f"expected a message, got opcode {opcode} {frame.data!r}"
        return json.loads(frame.data)

    def expect(self, type_: str, **fields) -> dict:
        """The next message, which must be of this type (and have these fields)."""
        message = self.receive()
        assert message["type"] == type_, message
        for key, value in fields.items():
            assert message[key] == value, (key, message)
        return message

    def join(self, room: str, role: str, **fields) -> dict:
        """Join; the joined message (and, for a presenter, the viewers count after it)."""
        self.send("join", room=room, role=role, **fields)
        joined = self.expect("joined", role=role)
        self.peer_id = joined["peerId"]
        return joined

    def expect_error(self, code: str) -> dict:
        return self.expect("error", code=code)

    def expect_close(self) -> int:
        """Wait for the server's close frame; its status code."""
        opcode, frame = self.ws.recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE, f"expected a close, got {frame.data!r}"
        return int.from_bytes(frame.data[:2], "big")

    def expect_quiet(self) -> None:
        """Nothing arrives for QUIET_S."""
        self.ws.settimeout(QUIET_S)
        try:
            message = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        finally:
            self.ws.settimeout(RECEIVE_TIMEOUT_S)
        raise AssertionError(f"unexpected message {message!r}")

    def crash(self) -> None:
        """Drop the TCP connection without a close frame, like a killed tab."""
        self.ws.sock.shutdown(socket.SHUT_RDWR)
        self.ws.sock.close()

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass
