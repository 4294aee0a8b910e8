"""The conversation WebSocket on the running platform: typed turns, spoken replies, a booking.

Against the whole platform (`up` on free ports): the gateway's WebSocket relays to the
voice-proxy, which runs the dialog over triage and scheduling as the guest patient, speaks every
reply with the tts service, and keeps the conversation in NATS KV.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from .conftest import Platform
from .test_guest_upgrade import session_id_set_by

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

CHEST_PAIN = "I have a crushing pain in my chest spreading to my left arm"


class Socket:
    """A patient's WebSocket: JSON events and audio bytes, read until a wanted event."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.audio = bytearray()
        self.cookie = ""

    async def send(self, **frame: Any) -> None:
        await self.connection.send(json.dumps(frame))

    async def until(self, wanted: str, limit: int = 400) -> list[dict[str, Any]]:
        events = []
        for _ in range(limit):
            message = await asyncio.wait_for(self.connection.recv(), timeout=120)
            if isinstance(message, bytes):
                self.audio.extend(message)
                continue
            event = json.loads(message)
            events.append(event)
            assert event["type"] != "error" or not event.get("fatal"), event
            if event["type"] == wanted:
                return events
        raise AssertionError(f"no {wanted} event")


async def open_socket(platform: Platform, cookie: str = "") -> tuple[Socket, Any]:
    """Open the conversation socket as ``cookie``'s patient, or as a new guest."""
    base = platform.base_url
    if not cookie:
        async with httpx.AsyncClient(timeout=60) as http:
            guest = await http.post(f"{base}/api/v1/auth/guest", json={"language": "en"})
        assert guest.status_code == 201, guest.text
        cookie = f"__Host-voiceassist_session={session_id_set_by(guest)}"
    url = base.replace("http://", "ws://") + "/ws/v1/conversation"
    connection = await websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": base}, max_size=2**20
    )
    socket = Socket(connection)
    socket.cookie = cookie
    return socket, connection


async def test_chest_pain_typed_gets_the_emergency_advice_as_text_and_audio(
    platform: Platform,
) -> None:
    socket, connection = await open_socket(platform)
    try:
        await socket.send(type="session.start", channel="voice", language="en")
        events = await socket.until("audio.end")  # the greeting, spoken
        assert events[0]["type"] == "session.started"
        assert any(e["type"] == "assistant.text" and not e["interruptible"] for e in events)
        await socket.send(type="text", text="yes")
        await socket.until("assistant.text")
        await socket.send(type="text", text=CHEST_PAIN)
        events = await socket.until("triage.result")
        result = events[-1]
        assert result["level"] in ("emergency_ambulance", "emergency")
        assert result["emergency_number"]
        assert result["disclaimer"]
        assert result["bookable"] is False
        heard = len(socket.audio)
        advice = await socket.until("audio.end")
        spoken = [e for e in advice if e["type"] == "assistant.text"]
        assert spoken
        assert not spoken[0]["interruptible"]
        assert len(socket.audio) - heard > 24_000  # at least half a second of reply audio
    finally:
        await connection.close()


async def speak_frames(socket: Socket, pcm: bytes, rate: int) -> None:
    """Send ``pcm`` as 20 ms microphone frames, then 1.5 s of silence (the turn ends)."""
    frame = rate // 50 * 2
    silence = b"\x00\x00" * (rate // 50)
    for start in range(0, len(pcm), frame):
        await socket.connection.send(pcm[start : start + frame])
        await asyncio.sleep(0.005)
    for _ in range(75):
        await socket.connection.send(silence)
        await asyncio.sleep(0.005)


async def test_chest_pain_spoken_gets_the_emergency_advice_as_text_and_audio(
    platform: Platform,
) -> None:
    # The patient's voice: the platform's own synthesis (hibari), at 16 kHz.
    async with httpx.AsyncClient(timeout=120) as http:
        guest = await http.post(f"{platform.base_url}/api/v1/auth/guest", json={})
        cookie = f"__Host-voiceassist_session={session_id_set_by(guest)}"
        spoken = await http.post(
            f"{platform.base_url}/api/v1/speech/synthesize",
            json={"text": CHEST_PAIN + ".", "sample_rate": 16000},
            headers={"Cookie": cookie, "X-CSRF-Token": guest.json()["csrf_token"]},
        )
    assert spoken.status_code == 200, spoken.text
    pcm = spoken.content[44:]  # the RIFF header of a PCM16 WAV file
    socket, connection = await open_socket(platform)
    try:
        await socket.send(type="session.start", channel="voice", sample_rate=16000)
        await socket.until("audio.end")
        await socket.send(type="text", text="yes")
        await socket.until("audio.end")
        await speak_frames(socket, pcm, 16000)
        events = await socket.until("triage.result")
        finals = [e for e in events if e["type"] == "transcript.final"]
        assert finals, events
        assert "chest" in finals[-1]["text"].lower()
        result = events[-1]
        assert result["level"] in ("emergency_ambulance", "emergency")
        heard = len(socket.audio)
        advice = await socket.until("audio.end")
        assert any(e["type"] == "assistant.text" and not e["interruptible"] for e in advice)
        assert len(socket.audio) - heard > 24_000
    finally:
        await connection.close()


async def appointment_status(platform: Platform, appointment_id: str) -> str | None:
    """Return what scheduling's own table says of an appointment."""
    connection = await asyncpg.connect(platform.dsn)
    try:
        status: str | None = await connection.fetchval(
            "SELECT status FROM scheduling.appointments WHERE appointment_id = $1::uuid",
            appointment_id,
        )
    finally:
        await connection.close()
    return status


async def test_a_typed_sore_throat_conversation_books_a_real_slot(platform: Platform) -> None:
    socket, connection = await open_socket(platform)
    try:
        await socket.send(type="session.start", channel="text", language="en")
        await socket.until("assistant.text")
        await socket.send(type="text", text="yes")
        await socket.until("assistant.text")
        await socket.send(type="text", text="I have had a sore throat for three days")
        answers = {"How old": "34", "man or a woman": "a woman"}
        offer: dict[str, Any] | None = None
        for _ in range(40):
            said = (await socket.until("assistant.text"))[-1]
            text, replies = said["text"], [r["text"] for r in said["quick_replies"]]
            if "city" in text:
                await socket.send(type="text", text="London")
                offer = (await socket.until("booking.offer"))[-1]
                break
            if "appointment" in text and "Yes" in replies:
                await socket.send(type="text", text="yes")
                continue
            reply = next((a for q, a in answers.items() if q in text), None)
            if reply is None:
                reply = "no" if "No" in replies else (replies[0] if replies else "about a three")
            await socket.send(type="text", text=reply)
        assert offer is not None
        slot = offer["practitioners"][0]["slots"][0]
        await socket.send(type="slot.select", slot_id=slot["slot_id"])
        confirmed = (await socket.until("booking.confirmed"))[-1]
        await socket.until("assistant.text")
    finally:
        await connection.close()

    assert await appointment_status(platform, confirmed["appointment_id"]) == "booked"


class Voice:
    """The patient's voice: the platform's own synthesis (hibari) at 16 kHz, one clip per text."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._clips: dict[str, bytes] = {}
        self._headers: dict[str, str] = {}

    async def pcm(self, text: str) -> bytes:
        if text in self._clips:
            return self._clips[text]
        base = self._platform.base_url
        async with httpx.AsyncClient(timeout=120) as http:
            if not self._headers:
                guest = await http.post(f"{base}/api/v1/auth/guest", json={})
                self._headers = {
                    "Cookie": f"__Host-voiceassist_session={session_id_set_by(guest)}",
                    "X-CSRF-Token": guest.json()["csrf_token"],
                }
            spoken = await http.post(
                f"{base}/api/v1/speech/synthesize",
                json={"text": text, "sample_rate": 16000},
                headers=self._headers,
            )
        assert spoken.status_code == 200, spoken.text
        self._clips[text] = spoken.content[44:]  # the RIFF header of a PCM16 WAV file
        return self._clips[text]


async def replies(socket: Socket, *, stop: bool = False) -> list[dict[str, Any]]:
    """Read one turn's reply: events until its audio has played out and nothing more follows.

    The server sends an utterance's audio as fast as it is made and its ``audio.end`` once it
    has played, so the socket is quiet while a reply plays: quiet only counts after the end.
    With ``stop`` the patient presses Stop as each utterance starts (the web client's button),
    so the turn does not wait for the reply to play in real time; consent and emergency
    instructions play on regardless.
    """
    events: list[dict[str, Any]] = []
    playing = 0
    while True:
        try:
            message = await asyncio.wait_for(
                socket.connection.recv(), timeout=120 if playing or not events else 1.5
            )
        except TimeoutError:
            return events
        if isinstance(message, bytes):
            socket.audio.extend(message)
            continue
        event = json.loads(message)
        events.append(event)
        assert event["type"] != "error" or not event.get("fatal"), event
        playing += {"audio.start": 1, "audio.end": -1}.get(event["type"], 0)
        if stop and event["type"] == "audio.start":
            await socket.send(type="action", action="stop_audio")


async def test_a_spoken_sore_throat_conversation_books_a_real_slot(platform: Platform) -> None:
    voice = Voice(platform)
    socket, connection = await open_socket(platform)
    heard: list[str] = []
    try:
        await socket.send(type="session.start", channel="voice", sample_rate=16000)
        await replies(socket)  # the greeting and consent question, played to the end
        answer = "Yes."
        confirmed: dict[str, Any] | None = None
        answers = {
            "bothering you": "I have had a sore throat for three days.",
            "How old": "I am thirty four.",
            "man or a woman": "A woman.",
            "city": "London.",
            "Which would you like": "The first one, please.",
        }
        for _ in range(40):
            await speak_frames(socket, await voice.pcm(answer), 16000)
            events = await replies(socket, stop=True)
            heard += [e["text"] for e in events if e["type"] == "transcript.final"]
            booked = [e for e in events if e["type"] == "booking.confirmed"]
            if booked:
                confirmed = booked[0]
                break
            said = [e for e in events if e["type"] == "assistant.text"][-1:]
            assert said, (answer, [e for e in events if e["type"] != "audio.start"], heard)
            text, options = said[0]["text"], [r["text"] for r in said[0]["quick_replies"]]
            answer = next((a for q, a in answers.items() if q in text), "")
            if not answer:
                answer = "Yes." if "appointment" in text and "Yes" in options else "No."
                if "No" not in options and "Yes" not in options:
                    answer = f"{options[0]}." if options else "About a three."
    finally:
        await connection.close()
    assert confirmed is not None, heard
    # What the patient said was heard: the complaint and the pick by position.
    assert any("sore throat" in text.lower() for text in heard), heard
    assert await appointment_status(platform, confirmed["appointment_id"]) == "booked"


async def test_a_socket_closed_mid_reply_loses_nothing_and_the_conversation_resumes(
    platform: Platform,
) -> None:
    socket, connection = await open_socket(platform)
    await socket.send(type="session.start", channel="voice")
    started = (await socket.until("session.started"))[-1]
    await socket.until("audio.start")
    await asyncio.wait_for(connection.recv(), timeout=30)  # some of the greeting's audio
    await connection.close()  # the patient's phone drops the call while the greeting plays

    socket, connection = await open_socket(platform, socket.cookie)
    try:
        await socket.send(type="session.start", session_id=started["session_id"], channel="text")
        resumed = (await socket.until("session.started"))[-1]
        assert resumed["resumed"] is True
        assert resumed["session_id"] == started["session_id"]
        question = (await socket.until("assistant.text"))[-1]
        assert "start" in question["text"]  # the consent question it had not answered yet
        await socket.send(type="text", text="yes")
        asked = (await socket.until("assistant.text"))[-1]
        assert "what is bothering you" in asked["text"]
    finally:
        await connection.close()
