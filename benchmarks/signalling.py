"""Benchmark the signalling server (`vbg serve`, gunicorn gthread, one thread per open WebSocket): relay
throughput between two sockets, and a classroom-sized load of many broadcasts at once.

    .venv/bin/python -m benchmarks.signalling [--rooms 50] [--viewers 30] [--signals 5] [--ramp-s 5]
        [--spread-s 2,10] [--throughput-messages 20000] [--runs 3] [--out benchmarks/results/signalling.json]

Not a test: prints a Markdown table and writes the JSON (machine, date, command, every number of this run).
Every client socket runs on one event loop in this process (wsproto over non-blocking sockets, no thread
per client), so what limits the numbers is the server, plus this loop's share of the CPU it runs beside.

(a) Throughput: one broadcast, a presenter and a viewer; the presenter sends signals to the viewer with at
    most THROUGHPUT_WINDOW in flight; messages relayed per second from the first send to the last arrival,
    median of --runs. The per-socket rate limit is lifted for this part (--messages-per-s), so it measures
    the relay and not the limit.
(b) Load: --rooms broadcasts, each with a presenter and --viewers viewers who open their sockets over
    --ramp-s seconds and join. Once every viewer is in (all sockets open at once), each viewer, at a random
    moment within --spread-s, starts a ping-pong of --signals signals each way with its presenter (like an
    offer, an answer and ICE candidates), every one carrying its sender's id, its addressee and a sequence
    number; then it leaves, and each presenter ends its broadcast when its last viewer has left. Counted:
    signals lost, misrouted (arrived at the wrong socket or with the wrong sender) and duplicated (all must
    be 0), relay latency (send to arrival, both ends on this process's clock), join latency, and the server
    worker's threads, memory and CPU. The server runs with its default rate limits. Part (b) runs once per
    --spread-s value, each on a fresh server: 2 s crowds every exchange together (a burst several times
    what a school's broadcasts would send), 10 s is closer to viewers trickling in. The latency includes
    the time a message waits for this loop, which serves all 1550 sockets and shares the CPU with the server.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import selectors
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, Request, TextMessage

from benchmarks.pipeline import jsonable, machine_info, markdown_table, percentile
from model_export.paths import REPO_ROOT
from tests.server_process import start_server, stop_server
from tests.webapp.ws_peer import create_room
from webapp.config import HTTP_RESERVED_THREADS

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "signalling.json"
THROUGHPUT_WINDOW = 500  # signals in flight: enough to keep the server busy, few enough to measure it
UNLIMITED_RATE = 10**9  # messages per second: the rate limit lifted for the throughput part
PHASE_TIMEOUT_S = 300  # a phase that has not finished by then is reported as far as it got
SAMPLE_INTERVAL_S = 0.25  # server threads, memory and CPU
LAST_WORDS_S = 5.0  # once every viewer has gone, how long the presenters' last messages may take
POLL_S = 0.05  # the loop's longest wait, so timers and the stop condition are looked at often
SEED = 0


# ------------------------------------------------------------------------------- event loop


class Loop:
    """Non-blocking client sockets and timers on one thread."""

    def __init__(self, port: int):
        self.address = ("127.0.0.1", port)
        self.selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = 0

    def later(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run an action on the loop after a delay."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (time.perf_counter() + delay_s, self._timer_seq, action))

    def run(self, done: Callable[[], bool], timeout_s: float = PHASE_TIMEOUT_S) -> bool:
        """Serve sockets and timers until done() (True) or the timeout (False)."""
        deadline = time.perf_counter() + timeout_s
        while not done():
            now = time.perf_counter()
            if now > deadline:
                return False
            while self._timers and self._timers[0][0] <= now:
                heapq.heappop(self._timers)[2]()
            wait = POLL_S if not self._timers else min(POLL_S, max(0.0, self._timers[0][0] - now))
            for key, mask in self.selector.select(wait):
                client: Client = key.data
                if mask & selectors.EVENT_WRITE:
                    client.on_writable()
                if mask & selectors.EVENT_READ and not client.closed:
                    client.on_readable()
        return True


class Client:
    """One signalling WebSocket (wsproto), driven by the loop; calls on_message(client, dict)."""

    def __init__(self, loop: Loop, on_message: Callable[["Client", dict], None]):
        self.loop = loop
        self.on_message = on_message
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(loop.address)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self._out = bytearray(self.ws.send(Request(host=f"{loop.address[0]}:{loop.address[1]}", target="/ws")))
        self._waiting: list[str] = []  # messages queued before the handshake is accepted
        self._text: list[str] = []  # fragments of the message arriving
        self.open = False
        self.closed = False
        self.close_code: int | None = None
        self.failure: str | None = None
        self.opened_at = time.perf_counter()
        self._writing = True
        loop.selector.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)

    def send(self, message: dict) -> None:
        text = json.dumps(message, separators=(",", ":"))
        if not self.open:
            self._waiting.append(text)
            return
        self._out += self.ws.send(TextMessage(text))
        self._want_write()

    def _want_write(self) -> None:
        if not self._writing and not self.closed:
            self._writing = True
            self.loop.selector.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)

    def on_writable(self) -> None:
        if self._out:
            try:
                sent = self.sock.send(self._out)
            except BlockingIOError:
                return
            except OSError as error:
                self._finish(f"send: {error}")
                return
            del self._out[:sent]
        if not self._out and self._writing and not self.closed:
            self._writing = False
            self.loop.selector.modify(self.sock, selectors.EVENT_READ, self)

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError as error:
            self._finish(f"recv: {error}")
            return
        if not data:
            self._finish(None if self.close_code else "connection dropped without a close frame")
            return
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.open = True
                for text in self._waiting:
                    self._out += self.ws.send(TextMessage(text))
                self._waiting.clear()
            elif isinstance(event, TextMessage):
                self._text.append(event.data)
                if event.message_finished:
                    text, self._text = "".join(self._text), []
                    self.on_message(self, json.loads(text))
            elif isinstance(event, CloseConnection):
                self.close_code = event.code
                self._out += self.ws.send(event.response())
            elif isinstance(event, Ping):
                self._out += self.ws.send(event.response())
            elif isinstance(event, RejectConnection):
                self._finish(f"handshake refused ({event.status_code})")
                return
        if self._out:
            self._want_write()
            self.on_writable()

    def _finish(self, failure: str | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.failure = failure
        try:
            self.loop.selector.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()

    def abort(self) -> None:
        """Close without a word (the end of a phase that timed out)."""
        self._finish(self.failure)


# --------------------------------------------------------------------------- server probe


def _worker_pid(arbiter_pid: int, timeout_s: float = 10) -> int | None:
    """The gunicorn worker under `vbg serve` (the arbiter forks one)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{arbiter_pid}/task/{arbiter_pid}/children").read_text().split()
        except OSError:
            return None
        if children:
            return int(children[0])
        time.sleep(0.1)
    return None


class ServerProbe:
    """Samples the server worker's threads, resident memory and CPU time from /proc (Linux)."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self.peak_threads = 0
        self.peak_rss_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def cpu_s(self) -> float | None:
        if self.pid is None:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("Threads:"):
                    self.peak_threads = max(self.peak_threads, int(line.split()[1]))
                elif line.startswith("VmRSS:"):
                    self.peak_rss_mib = max(self.peak_rss_mib, int(line.split()[1]) / 1024)

    def __enter__(self) -> "ServerProbe":
        if self.pid is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()


# ----------------------------------------------------------------------------- (a) throughput


def throughput_run(loop: Loop, origin: str, messages: int) -> dict:
    """Relay `messages` signals presenter -> viewer; rate and order."""
    room = create_room(origin, "broadcast")
    ids: dict[str, str] = {}
    arrived: list[int] = []
    state = {"sent": 0, "first": None, "last": None}

    def top_up() -> None:
        while state["sent"] < messages and state["sent"] - len(arrived) < THROUGHPUT_WINDOW:
            presenter.send({"type": "signal", "to": ids["viewer"], "data": {"seq": state["sent"]}})
            state["sent"] += 1

    def on_presenter(client: Client, message: dict) -> None:
        if message["type"] == "joined":
            ids["presenter"] = message["peerId"]

    def on_viewer(client: Client, message: dict) -> None:
        if message["type"] == "joined":
            ids["viewer"] = message["peerId"]
        elif message["type"] == "signal":
            arrived.append(message["data"]["seq"])
            state["last"] = time.perf_counter()
            top_up()

    presenter = Client(loop, on_presenter)
    presenter.send({"type": "join", "room": room["room"], "role": "presenter", "hostToken": room["hostToken"]})
    loop.run(lambda: "presenter" in ids, 30)
    viewer = Client(loop, on_viewer)
    viewer.send({"type": "join", "room": room["room"], "role": "viewer"})
    loop.run(lambda: "viewer" in ids, 30)
    state["first"] = time.perf_counter()
    top_up()
    finished = loop.run(lambda: len(arrived) >= messages, 120)
    presenter.send({"type": "end"})
    loop.run(lambda: presenter.closed and viewer.closed, 10)
    elapsed = (state["last"] or time.perf_counter()) - state["first"]
    return {"messages": messages, "arrived": len(arrived), "in_order": arrived == sorted(arrived),
            "seconds": elapsed, "per_s": len(arrived) / elapsed if elapsed > 0 else None, "finished": finished}


def throughput(messages: int, runs: int) -> dict:
    """Part (a) on a server of its own with the rate limit lifted."""
    server = start_server(["--messages-per-s", str(UNLIMITED_RATE), "--message-burst", str(UNLIMITED_RATE),
                           "--max-rooms-per-address", str(runs + 1)])
    try:
        loop = Loop(int(server.origin.rsplit(":", 1)[1]))
        results = [throughput_run(loop, server.origin, messages) for _ in range(runs)]
    finally:
        stop_server(server)
    rates = [r["per_s"] for r in results if r["per_s"]]
    return {"runs": results, "median_per_s": statistics.median(rates) if rates else None,
            "window": THROUGHPUT_WINDOW}


# -------------------------------------------------------------------------------- (b) load


@dataclass
class Viewer:
    room: int
    client: Client | None = None
    peer_id: str | None = None
    presenter_id: str | None = None
    joined_after_s: float | None = None
    next_seq: int = 0  # the next signal this viewer sends
    seen: set[int] = field(default_factory=set)  # signals from the presenter
    left: bool = False


@dataclass
class Presenter:
    room: dict
    client: Client | None = None
    peer_id: str | None = None
    viewers_in: int = 0
    viewers_left: int = 0
    seen: dict[str, set[int]] = field(default_factory=dict)  # viewer id -> signals from it
    ended: bool = False


class Load:
    """Part (b): the rooms, their members and what they counted."""

    def __init__(self, loop: Loop, rooms: list[dict], viewers_per_room: int, signals: int):
        self.loop = loop
        self.signals = signals
        self.viewers_per_room = viewers_per_room
        self.presenters = [Presenter(room) for room in rooms]
        self.viewers = [Viewer(n // viewers_per_room) for n in range(len(rooms) * viewers_per_room)]
        self.by_peer_id: dict[str, Presenter | Viewer] = {}
        self.latencies_ms: list[float] = []
        self.misrouted = 0
        self.duplicated = 0
        self.errors: Counter[str] = Counter()
        self.unexpected: Counter[str] = Counter()

    # messages ---------------------------------------------------------------------------

    def _signal(self, client: Client, sender: str, to: str, seq: int) -> None:
        client.send({"type": "signal", "to": to,
                     "data": {"seq": seq, "sender": sender, "to": to, "sentAt": time.perf_counter()}})

    def _check(self, me: str, message: dict) -> bool:
        """Whether a relayed signal is for me and from whom it says; records its latency."""
        data = message["data"]
        self.latencies_ms.append((time.perf_counter() - data["sentAt"]) * 1000)
        if data["to"] != me or message["from"] != data["sender"]:
            self.misrouted += 1
            return False
        return True

    def _other(self, message: dict) -> None:
        if message["type"] == "error":
            self.errors[message["code"]] += 1
        else:
            self.unexpected[message["type"]] += 1

    def on_presenter(self, presenter: Presenter, message: dict) -> None:
        kind = message["type"]
        if kind == "joined":
            presenter.peer_id = message["peerId"]
        elif kind == "peer-joined":
            presenter.viewers_in += 1
        elif kind == "signal":
            if self._check(presenter.peer_id, message):
                seen = presenter.seen.setdefault(message["from"], set())
                seq = message["data"]["seq"]
                if seq in seen:
                    self.duplicated += 1
                seen.add(seq)
                self._signal(presenter.client, presenter.peer_id, message["from"], seq)  # the answer
        elif kind == "peer-left":
            presenter.viewers_left += 1
            if presenter.viewers_left == self.viewers_per_room:
                presenter.client.send({"type": "end"})
        elif kind == "ended":
            presenter.ended = True
        elif kind != "viewers":
            self._other(message)

    def on_viewer(self, viewer: Viewer, message: dict) -> None:
        kind = message["type"]
        if kind == "joined":
            viewer.peer_id = message["peerId"]
            viewer.joined_after_s = time.perf_counter() - viewer.client.opened_at
            presenters = [peer["peerId"] for peer in message["peers"] if peer["role"] == "presenter"]
            viewer.presenter_id = presenters[0] if presenters else None
        elif kind == "signal":
            if not self._check(viewer.peer_id, message):
                return
            seq = message["data"]["seq"]
            if seq in viewer.seen:
                self.duplicated += 1
            viewer.seen.add(seq)
            if viewer.next_seq < self.signals:
                self._send_next(viewer)
            elif len(viewer.seen) == self.signals and not viewer.left:
                viewer.left = True
                viewer.client.send({"type": "leave"})
        else:
            self._other(message)

    def _send_next(self, viewer: Viewer) -> None:
        self._signal(viewer.client, viewer.peer_id, viewer.presenter_id, viewer.next_seq)
        viewer.next_seq += 1

    # phases -----------------------------------------------------------------------------

    def join_presenters(self) -> bool:
        for presenter in self.presenters:
            presenter.client = Client(self.loop, lambda c, m, p=presenter: self.on_presenter(p, m))
            presenter.client.send({"type": "join", "room": presenter.room["room"], "role": "presenter",
                                   "hostToken": presenter.room["hostToken"]})
        return self.loop.run(lambda: all(p.peer_id for p in self.presenters))

    def join_viewers(self, ramp_s: float) -> bool:
        order = list(range(len(self.viewers)))
        random.Random(SEED).shuffle(order)  # the rooms fill side by side, as a school's would
        for rank, index in enumerate(order):
            self.loop.later(ramp_s * rank / len(order), lambda v=self.viewers[index]: self._open_viewer(v))
        return self.loop.run(lambda: all(v.peer_id for v in self.viewers)
                             and all(p.viewers_in == self.viewers_per_room for p in self.presenters)
                             or self._dead(self.viewers))

    def _open_viewer(self, viewer: Viewer) -> None:
        viewer.client = Client(self.loop, lambda c, m, v=viewer: self.on_viewer(v, m))
        viewer.client.send({"type": "join", "room": self.presenters[viewer.room].room["room"], "role": "viewer"})

    def exchange(self, spread_s: float) -> bool:
        rng = random.Random(SEED)
        for viewer in self.viewers:
            if viewer.peer_id and viewer.presenter_id:
                self.loop.later(rng.uniform(0, spread_s), lambda v=viewer: self._send_next(v))
        dead_since: list[float] = []

        def done() -> bool:  # every room ended, or nothing more can come (all viewers gone a while)
            if all(p.ended for p in self.presenters):
                return True
            if not dead_since and self._dead(self.viewers):
                dead_since.append(time.perf_counter())
            return bool(dead_since) and time.perf_counter() - dead_since[0] > LAST_WORDS_S

        return self.loop.run(done)

    def _dead(self, viewers: list[Viewer]) -> bool:
        """Every viewer socket has closed."""
        return all(v.client is not None and v.client.closed for v in viewers)

    def abort(self) -> None:
        for member in [*self.presenters, *self.viewers]:
            if member.client is not None:
                member.client.abort()

    # numbers ----------------------------------------------------------------------------

    def counts(self) -> dict:
        expected_each_way = len(self.viewers) * self.signals
        to_presenters = sum(len(seen) for p in self.presenters for seen in p.seen.values())
        to_viewers = sum(len(v.seen) for v in self.viewers)
        failures = Counter(m.client.failure for m in [*self.presenters, *self.viewers]
                           if m.client is not None and m.client.failure)
        return {
            "sockets": len(self.presenters) + len(self.viewers),
            "viewers_joined": sum(bool(v.peer_id) for v in self.viewers),
            "signals_expected": 2 * expected_each_way,
            "signals_delivered": to_presenters + to_viewers,
            "signals_lost": 2 * expected_each_way - to_presenters - to_viewers,
            "misrouted": self.misrouted,
            "duplicated": self.duplicated,
            "peer_left_seen": sum(p.viewers_left for p in self.presenters),
            "rooms_ended": sum(p.ended for p in self.presenters),
            "errors": dict(self.errors),
            "unexpected_messages": dict(self.unexpected),
            "socket_failures": dict(failures),
        }


def load(rooms: int, viewers: int, signals: int, ramp_s: float, spread_s: float) -> dict:
    """Part (b) on a server with enough threads for every socket at once."""
    sockets = rooms * (viewers + 1)
    threads = sockets + HTTP_RESERVED_THREADS + 16  # + 16: sockets still closing while others open
    server = start_server(["--threads", str(threads), "--max-viewers", str(viewers),
                           "--max-rooms-per-address", str(rooms), "--max-sockets-per-address", str(sockets)])
    result: dict = {"server_threads_option": threads}
    try:
        probe = ServerProbe(_worker_pid(server.process.pid))
        loop = Loop(int(server.origin.rsplit(":", 1)[1]))
        created = [create_room(server.origin, "broadcast") for _ in range(rooms)]
        run = Load(loop, created, viewers, signals)
        with probe:
            cpu_start = probe.cpu_s()
            started = time.perf_counter()
            result["presenters_joined"] = run.join_presenters()
            result["all_viewers_joined"] = run.join_viewers(ramp_s)
            joined_at = time.perf_counter()
            result["join_phase_s"] = joined_at - started
            result["exchange_finished"] = run.exchange(spread_s)
            result["exchange_phase_s"] = time.perf_counter() - joined_at
            cpu_end = probe.cpu_s()
        run.abort()
        joins = [v.joined_after_s * 1000 for v in run.viewers if v.joined_after_s is not None]
        result.update(run.counts())
        result["join_latency_ms"] = {"p50": percentile(joins, 50), "p99": percentile(joins, 99),
                                     "max": max(joins, default=None)}
        result["relay_latency_ms"] = {"n": len(run.latencies_ms), "p50": percentile(run.latencies_ms, 50),
                                      "p99": percentile(run.latencies_ms, 99), "max": max(run.latencies_ms, default=None)}
        result["server"] = {"peak_threads": probe.peak_threads, "peak_rss_mib": probe.peak_rss_mib,
                            "cpu_s": None if cpu_start is None or cpu_end is None else cpu_end - cpu_start}
    finally:
        result["server_output_tail"] = stop_server(server)[-2000:]
    result["completed"] = (bool(result.get("exchange_finished")) and result.get("signals_lost") == 0
                           and result.get("misrouted") == 0 and result.get("duplicated") == 0
                           and result.get("peer_left_seen") == rooms * viewers and result.get("rooms_ended") == rooms)
    return result


# ------------------------------------------------------------------------------------ main


def _fmt(value, digits: int = 1):
    return None if value is None else round(value, digits)


def _load_rows(b: dict) -> list:
    join, relay, server = b.get("join_latency_ms"), b.get("relay_latency_ms"), b.get("server")
    return [
        b.get("sockets"),
        b.get("viewers_joined"),
        _fmt(b.get("join_phase_s"), 2),
        f"{_fmt(join['p50'])} / {_fmt(join['p99'])}" if join else None,
        f"{b.get('signals_delivered')} / {b.get('signals_expected')}",
        f"{b.get('signals_lost')} / {b.get('misrouted')} / {b.get('duplicated')}",
        f"{_fmt(relay['p50'])} / {_fmt(relay['p99'])} / {_fmt(relay['max'])}" if relay else None,
        _fmt(b.get("exchange_phase_s"), 2),
        f"{b.get('peer_left_seen')} / {b.get('rooms_ended')}",
        f"{server['peak_threads']} / {_fmt(server['peak_rss_mib'], 0)} / {_fmt(server['cpu_s'], 1)}" if server else None,
        f"{b.get('errors')} / {b.get('socket_failures')}",
        b.get("completed"),
    ]


LOAD_ROW_NAMES = [
    "sockets open at once", "viewers joined", "join phase (s)", "join latency p50 / p99 (ms)",
    "signals delivered / expected", "lost / misrouted / duplicated", "relay latency p50 / p99 / max (ms)",
    "exchange phase (s)", "peer-left seen / rooms ended", "server peak threads / RSS (MiB) / CPU (s)",
    "errors / socket failures", "completed",
]


def tables(report: dict) -> str:
    a, runs = report["throughput"], report["load"]
    lines = [markdown_table(["throughput (2 sockets, one way)", "value"], [
        ["signals relayed per s (median)", _fmt(a["median_per_s"], 0)],
        ["runs", ", ".join(f"{r['per_s']:.0f}" for r in a["runs"] if r["per_s"])],
    ]), ""]
    first = runs[0]
    header = [f"load: {first['rooms']} rooms x {first['viewers']} viewers, ramp {first['ramp_s']:g} s",
              *[f"spread {run['spread_s']:g} s" for run in runs]]
    columns = [_load_rows(run) for run in runs]
    lines.append(markdown_table(header, [[name, *(column[i] for column in columns)]
                                         for i, name in enumerate(LOAD_ROW_NAMES)]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run both parts, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--viewers", type=int, default=30, help="per room")
    parser.add_argument("--signals", type=int, default=5, help="each way, per viewer")
    parser.add_argument("--ramp-s", type=float, default=5.0, help="viewers open their sockets over this long")
    parser.add_argument("--spread-s", default="2,10",
                        help="viewers start their exchange within this; a list runs the load once per value")
    parser.add_argument("--throughput-messages", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3, help="throughput runs (the median is reported)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    machine = machine_info()
    report: dict = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.signalling", *(argv or sys.argv[1:])]),
        "machine": machine,
    }
    if args.skip_throughput:
        report["throughput"] = {"runs": [], "median_per_s": None, "skipped": True}
    else:
        print("(a) throughput …", file=sys.stderr, flush=True)
        report["throughput"] = throughput(args.throughput_messages, args.runs)
    report["load"] = []
    for spread_s in [float(value) for value in args.spread_s.split(",")]:
        print(f"(b) load: {args.rooms} rooms x {args.viewers} viewers, spread {spread_s:g} s …", file=sys.stderr,
              flush=True)
        report["load"].append({"rooms": args.rooms, "viewers": args.viewers, "signals_each_way": args.signals,
                               "ramp_s": args.ramp_s, "spread_s": spread_s,
                               **load(args.rooms, args.viewers, args.signals, args.ramp_s, spread_s)})
    machine["load_average_end"] = os.getloadavg()
    print(tables(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(report), indent=2, allow_nan=False) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(run["completed"] for run in report["load"]) else 1


if __name__ == "__main__":
    sys.exit(main())
