"""Rooms in memory: who is in which room, the limits, and what each member is told.

One lock guards every room. An operation decides under the lock what each member is sent and queues it
on the member's Channel; the queued messages are written after the lock is released (Channel.flush), so a
slow socket never holds up the rest of the server, and every member still receives its messages in the
order the registry decided them. Nothing is persisted, and the server never sees media.
"""
import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from webapp.rooms import protocol
from webapp.rooms.protocol import CLOSE_GOING_AWAY, CLOSE_NORMAL, ROLES_OF_KIND, Join, Kind, ProtocolError, Role

ROOM_ID_BYTES = 16  # 128 bits: a room's link cannot be guessed
HOST_TOKEN_BYTES = 32
PEER_ID_BYTES = 9  # 12 characters; unique within a room, shown to its members, not a secret
SALT_BYTES = 16


@dataclass(frozen=True)
class RoomLimits:
    """What one client, one room and the whole server may use."""

    max_message_bytes: int = 64 * 1024  # one message; an SDP offer is a few KB
    max_meeting_size: int = 6  # participants: a full mesh sends each camera to every other one
    max_viewers: int = 50  # per broadcast: the presenter's browser uploads one stream per viewer
    max_rooms: int = 1000  # live rooms in all: each is a little memory, kept up to vacancy_grace_s unused
    max_rooms_per_address: int = 20  # live rooms created from one client address
    max_sockets_per_address: int = 60  # below max_sockets: one machine never holds every socket (Config)
    max_sockets: int = 120  # in all: each open socket holds a server thread (see Config.threads)
    # Wrong passcodes one client address may try on one room within the window; then it is refused until
    # the oldest failure leaves the window (a 4-digit passcode then takes days to guess from one machine).
    max_passcode_failures: int = 5
    passcode_failure_window_s: float = 60.0
    # Per socket and per peer it may signal: a presenter negotiates with every viewer at once, each
    # negotiation an offer, an answer and a few ICE candidates.
    messages_per_s: float = 50.0  # the token bucket's refill
    message_burst: int = 100  # the token bucket's size
    join_timeout_s: float = 30.0  # a socket must join a room this soon after opening
    vacancy_grace_s: float = 600.0  # a broadcast without its presenter, a meeting without anyone, ends after
    sweep_interval_s: float = 5.0  # how often vacant rooms are looked for

    def peers_at_most(self, role: Role | None) -> int:
        """How many peers a member of this role may signal (1 before it joins)."""
        return {"presenter": self.max_viewers, "participant": self.max_meeting_size - 1}.get(role, 1)

    def message_budget(self, role: Role | None) -> "TokenBucket":
        """A socket's message budget for its role."""
        peers = max(1, self.peers_at_most(role))
        return TokenBucket(self.messages_per_s * peers, self.message_burst * peers)


class Channel(Protocol):
    """A member's connection as the registry sees it (webapp.rooms.channel.SocketChannel)."""

    def send(self, text: str) -> None:
        """Queue a message; never blocks."""

    def close(self, code: int) -> None:
        """Close the connection after the messages queued so far."""

    def flush(self) -> None:
        """Write what is queued; may block, so never called under the registry's lock."""


@dataclass(frozen=True)
class RoomInfo:
    """What a page may know about a room."""

    id: str
    kind: Kind
    has_passcode: bool


@dataclass(eq=False)
class Member:
    peer_id: str
    role: Role
    name: str
    channel: Channel
    room: "Room"
    muted: bool = False
    camera_off: bool = False

    def view(self) -> dict:
        """The member as the others see it."""
        peer = {"peerId": self.peer_id, "role": self.role, "name": self.name}
        if self.role == "participant":
            peer.update(muted=self.muted, cameraOff=self.camera_off)
        return peer


@dataclass(eq=False)
class Room:
    id: str
    kind: Kind
    creator: str  # the client address that created it
    salt: bytes
    host_token_digest: bytes
    passcode_digest: bytes | None
    vacant_since: float | None  # monotonic s; None while its presenter (or anyone, in a meeting) is in
    members: dict[str, Member] = field(default_factory=dict)
    # Client address -> monotonic times of its recent wrong passcodes, oldest first.
    passcode_failures: dict[str, deque[float]] = field(default_factory=dict)

    def info(self) -> RoomInfo:
        return RoomInfo(self.id, self.kind, self.passcode_digest is not None)

    def presenter(self) -> Member | None:
        return next((m for m in self.members.values() if m.role == "presenter"), None)

    def viewers(self) -> list[Member]:
        return [m for m in self.members.values() if m.role == "viewer"]

    def audience(self, member: Member) -> list[Member]:
        """Who hears of this member's arrival and departure (and may exchange signals with it)."""
        if self.kind == "meeting":
            return [m for m in self.members.values() if m is not member]
        if member.role == "presenter":
            return self.viewers()
        presenter = self.presenter()
        return [presenter] if presenter else []

    def is_vacant(self) -> bool:
        return self.presenter() is None if self.kind == "broadcast" else not self.members

    def is_member(self, member: Member) -> bool:
        return self.members.get(member.peer_id) is member


def _state_message(member: Member) -> str:
    return protocol.encode("peer-state", peerId=member.peer_id, muted=member.muted, cameraOff=member.camera_off)


def _digest(secret: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8", "surrogatepass")).digest()


def _matches(secret: str | None, digest: bytes, salt: bytes) -> bool:
    return secret is not None and hmac.compare_digest(_digest(secret, salt), digest)


class _Outgoing:
    """The channels an operation queued messages on, flushed once the lock is released."""

    def __init__(self):
        self._channels: dict[int, Channel] = {}
        self.ended: list[str] = []  # rooms this operation ended, for Registry.on_room_ended

    def send(self, member: Member, text: str) -> None:
        member.channel.send(text)
        self._channels[id(member.channel)] = member.channel

    def close(self, member: Member, code: int) -> None:
        member.channel.close(code)
        self._channels[id(member.channel)] = member.channel

    def flush(self) -> None:
        for channel in self._channels.values():
            channel.flush()


class TokenBucket:
    """A socket's message budget: `rate` messages per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Registry:
    """Every live room and open socket of this server process."""

    def __init__(self, limits: RoomLimits = RoomLimits(), ice_servers: Iterable[dict] = (),
                 clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._ice_servers = list(ice_servers)
        self._clock = clock
        self._lock = threading.Lock()
        self._rooms: dict[str, Room] = {}
        self._sockets: dict[int, tuple[Channel, str]] = {}  # id(channel) -> (channel, client address)
        self._sockets_per_address: Counter[str] = Counter()
        self._shut_down = False
        self._reaper: threading.Thread | None = None
        self._stop_reaper = threading.Event()
        self._end_listeners: list[Callable[[str], None]] = []

    def on_room_ended(self, listener: Callable[[str], None]) -> None:
        """Call listener(room_id) once a room has ended (any reason), outside the lock."""
        self._end_listeners.append(listener)

    # ------------------------------------------------------------------ rooms

    def create_room(self, kind: Kind, passcode: str | None, creator: str) -> tuple[RoomInfo, str]:
        """A new room and its host token; refuses past max_rooms_per_address live rooms."""
        if kind not in ROLES_OF_KIND:
            raise ValueError(f"unknown room kind {kind!r}")
        host_token = secrets.token_urlsafe(HOST_TOKEN_BYTES)
        salt = secrets.token_bytes(SALT_BYTES)
        with self._lock:
            if self._shut_down:
                raise ProtocolError("server-shutdown", "The server is shutting down.")
            if len(self._rooms) >= self.limits.max_rooms:
                raise ProtocolError("server-full", f"The server has {len(self._rooms)} open rooms, the most it may "
                                                   "have. Try again later.")
            live = sum(room.creator == creator for room in self._rooms.values())
            if live >= self.limits.max_rooms_per_address:
                raise ProtocolError(
                    "too-many-rooms",
                    f"This address already has {live} open rooms, the most it may have. "
                    "End one, or wait until an unused one expires.",
                )
            room_id = secrets.token_urlsafe(ROOM_ID_BYTES)
            room = Room(room_id, kind, creator, salt, _digest(host_token, salt),
                        _digest(passcode, salt) if passcode else None, vacant_since=self._clock())
            self._rooms[room_id] = room
        self._start_reaper()
        return room.info(), host_token

    def room(self, room_id: str) -> RoomInfo | None:
        """A live room, or None."""
        with self._lock:
            room = self._rooms.get(room_id)
            return room.info() if room else None

    def occupancy(self, room_id: str) -> int | None:
        """How many are in a live room right now (everyone, whatever their role), or None."""
        with self._lock:
            room = self._rooms.get(room_id)
            return len(room.members) if room else None

    def stats(self) -> dict:
        """How many rooms, members and sockets are live."""
        with self._lock:
            return {
                "rooms": len(self._rooms),
                "members": sum(len(room.members) for room in self._rooms.values()),
                "sockets": len(self._sockets),
            }

    # ---------------------------------------------------------------- sockets

    def open_socket(self, channel: Channel, address: str) -> None:
        """Count a new socket against the limits, or refuse it."""
        with self._lock:
            if self._shut_down:
                raise ProtocolError("server-shutdown", "The server is shutting down.")
            if len(self._sockets) >= self.limits.max_sockets:
                raise ProtocolError("too-many-sockets",
                                    f"The server is full ({self.limits.max_sockets} connections). Try again later.")
            if self._sockets_per_address[address] >= self.limits.max_sockets_per_address:
                raise ProtocolError("too-many-sockets",
                                    f"Too many connections from this address (at most "
                                    f"{self.limits.max_sockets_per_address}).")
            self._sockets[id(channel)] = (channel, address)
            self._sockets_per_address[address] += 1

    def close_socket(self, channel: Channel) -> None:
        """Forget a socket that has closed (its member, if any, must have left first)."""
        with self._lock:
            entry = self._sockets.pop(id(channel), None)
            if entry is not None:
                self._sockets_per_address[entry[1]] -= 1
                if not self._sockets_per_address[entry[1]]:
                    del self._sockets_per_address[entry[1]]

    # ---------------------------------------------------------------- members

    def join(self, request: Join, channel: Channel) -> Member:
        """Admit a socket into a room; raises ProtocolError (fatal to the socket) when refused."""
        out = _Outgoing()
        with self._lock:
            room = self._rooms.get(request.room)
            if room is None:
                raise ProtocolError("unknown-room", "This room does not exist or has ended.")
            if request.role not in ROLES_OF_KIND[room.kind]:
                allowed = " or ".join(ROLES_OF_KIND[room.kind])
                raise ProtocolError("wrong-role", f"A {room.kind} is joined as {allowed}, not {request.role}.")
            if request.role == "presenter":
                if not _matches(request.host_token, room.host_token_digest, room.salt):
                    raise ProtocolError("bad-token", "Only the page that created this broadcast can present it.")
            else:
                if room.passcode_digest is not None:
                    self._check_passcode(room, request.passcode, channel)
                present, most = ((len(room.viewers()), self.limits.max_viewers) if request.role == "viewer"
                                 else (len(room.members), self.limits.max_meeting_size))
                if present >= most:
                    raise ProtocolError("room-full", f"This {room.kind} is full ({most} people).")
            if request.role == "presenter" and (previous := room.presenter()) is not None:
                out.send(previous, protocol.encode("ended", reason="replaced"))
                out.close(previous, CLOSE_NORMAL)
                self._remove(out, previous)
            member = Member(self._new_peer_id(room), request.role, request.name, channel, room)
            audience = room.audience(member)
            room.members[member.peer_id] = member
            if not room.is_vacant():
                room.vacant_since = None
            out.send(member, protocol.encode(
                "joined", peerId=member.peer_id, role=member.role, kind=room.kind,
                peers=[peer.view() for peer in audience], iceServers=self._ice_servers,
            ))
            # A late viewer learns a paused camera or a muted microphone at once, not at the next switch.
            if member.role == "viewer" and (presenter := room.presenter()) and (presenter.muted or presenter.camera_off):
                out.send(member, _state_message(presenter))
            for peer in audience:
                out.send(peer, protocol.encode("peer-joined", peer=member.view()))
            self._count_viewers(out, room)
        out.flush()
        return member

    def leave(self, member: Member) -> None:
        """Take a member out of its room (a leave message or a dropped socket); idempotent."""
        out = _Outgoing()
        with self._lock:
            self._remove(out, member)
        out.flush()

    def relay(self, member: Member, to: str, data_json: str) -> None:
        """Pass a signal on to one peer the sender may talk to."""
        text = protocol.signal(member.peer_id, data_json)
        out = _Outgoing()
        with self._lock:
            room = member.room
            if not room.is_member(member):
                return  # replaced or ended meanwhile: its socket is closing
            target = room.members.get(to)
            if target is None or target is member:
                raise ProtocolError("unknown-peer", f"No peer {to!r} in this room.")
            if room.kind == "broadcast" and "presenter" not in (member.role, target.role):
                raise ProtocolError("not-allowed", "In a broadcast, viewers exchange signals only with the presenter.")
            out.send(target, text)
        out.flush()

    def set_state(self, member: Member, muted: bool, camera_off: bool) -> None:
        """A participant's or the presenter's microphone and camera switches, told to those who see it."""
        out = _Outgoing()
        with self._lock:
            room = member.room
            if member.role == "viewer":
                raise ProtocolError("not-allowed", "Viewers send no picture or sound: they have no state to share.")
            if not room.is_member(member):
                return
            member.muted, member.camera_off = muted, camera_off
            text = _state_message(member)
            for peer in room.audience(member):
                out.send(peer, text)
        out.flush()

    def end(self, member: Member) -> None:
        """The presenter ends the broadcast for everyone; the room is deleted."""
        if member.role != "presenter":
            raise ProtocolError("not-allowed", "Only the presenter can end a broadcast.")
        out = _Outgoing()
        with self._lock:
            if member.room.is_member(member):
                self._end_room(out, member.room, "presenter-ended")
        out.flush()
        self._tell_ended(out.ended)

    # --------------------------------------------------------------- lifetime

    def expire(self) -> list[str]:
        """End the rooms vacant for longer than the grace period; returns their ids."""
        out = _Outgoing()
        now = self._clock()
        with self._lock:
            stale = [room for room in self._rooms.values()
                     if room.vacant_since is not None and now - room.vacant_since >= self.limits.vacancy_grace_s]
            for room in stale:
                self._end_room(out, room, "expired")
        out.flush()
        self._tell_ended(out.ended)
        return [room.id for room in stale]

    def shutdown(self) -> None:
        """Tell every open socket the server is going away, close them all and refuse new ones."""
        with self._lock:
            self._shut_down = True
            text = protocol.encode("ended", reason="server-shutdown")
            channels = [channel for channel, _ in self._sockets.values()]
            for channel in channels:
                channel.send(text)
                channel.close(CLOSE_GOING_AWAY)
            ended = list(self._rooms)
            self._rooms.clear()
        self._stop_reaper.set()
        for channel in channels:
            channel.flush()
        self._tell_ended(ended)

    # --------------------------------------------------------------- internals

    def _remove(self, out: _Outgoing, member: Member) -> None:
        room = member.room
        if not room.is_member(member):
            return
        del room.members[member.peer_id]
        text = protocol.encode("peer-left", peerId=member.peer_id)
        for peer in room.audience(member):
            out.send(peer, text)
        if member.role == "viewer":
            self._count_viewers(out, room)
        if room.is_vacant() and room.vacant_since is None:
            room.vacant_since = self._clock()

    def _count_viewers(self, out: _Outgoing, room: Room) -> None:
        presenter = room.presenter()
        if presenter is not None:
            out.send(presenter, protocol.encode("viewers", count=len(room.viewers())))

    def _end_room(self, out: _Outgoing, room: Room, reason: str) -> None:
        text = protocol.encode("ended", reason=reason)
        for member in room.members.values():
            out.send(member, text)
            out.close(member, CLOSE_NORMAL)
        room.members.clear()
        self._rooms.pop(room.id, None)
        out.ended.append(room.id)

    def _tell_ended(self, room_ids: list[str]) -> None:
        for room_id in room_ids:
            for listener in self._end_listeners:
                listener(room_id)

    def _check_passcode(self, room: Room, passcode: str | None, channel: Channel) -> None:
        # Under the lock. An address past its failures is refused before the passcode is even looked at.
        entry = self._sockets.get(id(channel))
        address = entry[1] if entry else "unknown"
        now = self._clock()
        failures = room.passcode_failures.get(address, deque())
        while failures and now - failures[0] >= self.limits.passcode_failure_window_s:
            failures.popleft()
        if len(failures) >= self.limits.max_passcode_failures:
            wait_s = failures[0] + self.limits.passcode_failure_window_s - now
            raise ProtocolError("too-many-attempts", f"Too many wrong passcodes from this address. "
                                                     f"Try again in {max(1, round(wait_s))} s.")
        if _matches(passcode, room.passcode_digest, room.salt):
            room.passcode_failures.pop(address, None)
            return
        failures.append(now)
        room.passcode_failures[address] = failures
        raise ProtocolError("wrong-passcode", "The passcode is not right.")

    def _new_peer_id(self, room: Room) -> str:
        while (peer_id := secrets.token_urlsafe(PEER_ID_BYTES)) in room.members:
            pass
        return peer_id

    def _start_reaper(self) -> None:
        # Started on the first room, in the process that serves (the gunicorn worker, after the fork).
        with self._lock:
            if self._reaper is not None or self._shut_down:
                return
            self._reaper = threading.Thread(target=self._reap, name="vbg-room-reaper", daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        while not self._stop_reaper.wait(self.limits.sweep_interval_s):
            self.expire()
