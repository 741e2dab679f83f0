"""The HTTP server: Rasa's REST channel contract, /model/parse, /health, and bad input."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from connectors.rest import RestConnector
from plaza.app import Plaza
from plaza.clock import FixedClock
from plaza.nlu.types import unsafe_number
from plaza.server.app import build_app
from plaza.storage.models import Conversation, Delivery, Message, table_of
from plaza.testing.apps import TestApps

from .conftest import NOW

WEBHOOK = "/webhooks/rest/webhook"
BOOKING_REF = re.compile(r"PLZ-[A-HJ-NP-Z2-9]{6}")


@pytest.fixture
async def plaza(apps: TestApps) -> AsyncIterator[Plaza]:
    app = await apps.open(FixedClock(NOW))
    yield app
    await app.close()


@pytest.fixture
async def client(plaza: Plaza) -> AsyncIterator[TestClient]:
    server = TestServer(build_app(plaza, [RestConnector(plaza)]), host="127.0.0.1")
    async with TestClient(server) as test_client:
        yield test_client


async def _say(client: TestClient, sender: str, message: str, **metadata: str) -> list[dict]:
    body: dict = {"sender": sender, "message": message}
    if metadata:
        body["metadata"] = metadata
    response = await client.post(WEBHOOK, json=body)
    assert response.status == 200, await response.text()
    return await response.json()


async def _say_text(client: TestClient, sender: str, message: str) -> str:
    return "\n".join(r.get("text", "") for r in await _say(client, sender, message))


async def _count(plaza: Plaza, model: type) -> int:
    table = table_of(model)
    return await plaza.db.read(lambda c: int(c.execute(select(func.count()).select_from(table)).scalar_one()))


async def test_health_and_root(client: TestClient) -> None:
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["bots"] == ["restaurant"]
    assert (await client.get("/")).status == 200


async def test_rest_channel_speaks_rasas_contract(client: TestClient) -> None:
    replies = await _say(client, "ana", "an italian near Bastille for 4 tomorrow at 8pm")
    assert all(r["recipient_id"] == "ana" for r in replies)
    assert all(set(r) <= {"recipient_id", "text", "buttons", "image", "custom"} for r in replies)
    book = next(b for r in replies for b in r.get("buttons", []) if b["title"] == "Book")
    assert book["payload"].startswith("/restaurant.book_table{")
    confirm = await _say(client, "ana", book["payload"])  # a button's payload sent back presses it
    assert "Shall I book Trattoria Bellini, tomorrow at 8:00 pm, for 4 people?" in confirm[0]["text"]
    assert [b["payload"] for b in confirm[0]["buttons"]] == ["/affirm", "/deny"]
    booked = await _say(client, "ana", "/affirm")
    assert booked[0]["text"].startswith("Booked! Trattoria Bellini")


async def test_model_parse_returns_rasas_parse_shape(client: TestClient) -> None:
    response = await client.post(
        "/model/parse", json={"text": "une table pour deux ce soir vers 20h dans le Marais"}
    )
    assert response.status == 200
    parse = await response.json()
    assert parse["intent"]["name"] == "search_restaurant"
    assert 0 < parse["intent"]["confidence"] <= 1
    assert parse["language"] == "fr"
    assert parse["bot"] == "restaurant"
    assert parse["intent_ranking"][0]["name"] == "search_restaurant"
    entities = {e["entity"]: e for e in parse["entities"]}
    assert entities["district"]["value"] == "marais"
    assert entities["people"]["value"] == 2
    assert entities["time"]["value"] == "2026-11-20T20:00:00+01:00"
    text = parse["text"]
    for e in parse["entities"]:
        assert {"start", "end", "entity", "value"} <= set(e)
        assert 0 <= e["start"] < e["end"] <= len(text)


async def test_model_parse_detects_a_one_word_message_like_a_first_message(client: TestClient) -> None:
    for text, language, intent in [("salut", "fr", "greet"), ("hello", "en", "greet")]:
        parse = await (await client.post("/model/parse", json={"text": text})).json()
        assert (parse["language"], parse["intent"]["name"]) == (language, intent)


async def test_a_redelivered_message_is_answered_once_with_the_same_replies(
    client: TestClient, plaza: Plaza
) -> None:
    first = await _say(client, "bea", "book Bistrot Valmy for 2 tomorrow at 8pm", message_id="m-1")
    messages = await _count(plaza, Message)
    again = await _say(client, "bea", "book Bistrot Valmy for 2 tomorrow at 8pm", message_id="m-1")
    assert again == first
    assert await _count(plaza, Message) == messages


async def test_a_message_id_is_the_senders_own_another_sender_never_gets_the_replies(
    client: TestClient, plaza: Plaza
) -> None:
    """Clients number their own messages: alice's "1" and bob's "1" are two messages. Bob's must be
    answered, not dropped as a re-delivery of alice's, and alice's replies (her booking reference,
    its Change/Cancel buttons) must never reach him."""
    await _say(client, "alice", "book Bistrot Valmy for 2 tomorrow at 8pm")
    booked = await _say(client, "alice", "/affirm")
    assert booked[0]["text"].startswith("Booked! Bistrot Valmy")
    ref = BOOKING_REF.search(booked[0]["text"])
    assert ref is not None

    alices = await _say(client, "alice", "my bookings", message_id="1")
    assert ref[0] in json.dumps(alices)
    assert {b["title"] for r in alices for b in r.get("buttons", [])} >= {"Change", "Cancel"}

    bobs = await _say(client, "bob", "bonjour", message_id="1")
    assert bobs
    assert all(r["recipient_id"] == "bob" for r in bobs)
    assert bobs[0]["text"].startswith("Bonjour")  # his own greeting, in his language
    assert ref[0] not in json.dumps(bobs)
    assert not any(b["title"] in {"Change", "Cancel"} for r in bobs for b in r.get("buttons", []))

    # each sender's re-send is still a re-delivery: answered once, with that sender's own replies
    messages = await _count(plaza, Message)
    assert await _say(client, "bob", "bonjour", message_id="1") == bobs
    assert await _say(client, "alice", "my bookings", message_id="1") == alices
    assert await _count(plaza, Message) == messages

    table = table_of(Message)
    senders = await plaza.db.read(
        lambda c: sorted(
            r[0]
            for r in c.execute(
                select(table.c.channel_user_id).where(table.c.direction == "in", table.c.external_id == "1")
            )
        )
    )
    assert senders == ["alice", "bob"]


async def test_senders_sharing_message_ids_at_once_each_get_their_own_answer(
    client: TestClient, plaza: Plaza
) -> None:
    """Eight senders, each sending message "1" at once, then re-sending it at once: eight turns."""
    senders = [f"user-{i}" for i in range(8)]
    first = await asyncio.gather(*(_say(client, s, "hello", message_id="1") for s in senders))
    for sender, replies in zip(senders, first, strict=True):
        assert replies
        assert {r["recipient_id"] for r in replies} == {sender}
    messages = await _count(plaza, Message)
    again = await asyncio.gather(*(_say(client, s, "hello", message_id="1") for s in senders))
    assert again == first
    assert await _count(plaza, Message) == messages
    table = table_of(Conversation)
    versions = await plaza.db.read(lambda c: [r[0] for r in c.execute(select(table.c.version))])
    assert versions == [1] * 8


async def test_concurrent_messages_of_one_conversation_are_serialised(
    client: TestClient, plaza: Plaza
) -> None:
    """Eight messages at once on one conversation: each turn sees the previous one (no lost update)."""
    await asyncio.gather(*(_say(client, "cat", f"message {i}", message_id=f"o-{i}") for i in range(8)))
    table = table_of(Conversation)
    rows = await plaza.db.read(lambda c: c.execute(select(table.c.state, table.c.version)).all())
    assert len(rows) == 1
    state, version = rows[0]
    assert version == 8
    assert state["turns"] == 8


async def test_deliveries_are_marked_sent_after_the_response(client: TestClient, plaza: Plaza) -> None:
    await _say(client, "dan", "hello")
    await plaza.delivery.flush()
    table = table_of(Delivery)
    states = await plaza.db.read(lambda c: [r[0] for r in c.execute(select(table.c.state))])
    assert states
    assert set(states) == {"sent"}


def _nested(depth: int) -> str:
    """A JSON list nested `depth` levels deep, as text."""
    return "[" * depth + "]" * depth


def _pressed(payload: str) -> bytes:
    """The webhook body of a button press."""
    return json.dumps({"sender": "x", "message": payload}).encode()


BAD_REQUESTS = [
    ("not json", b"{sender: 1", 400, "not valid JSON"),
    ("empty body", b"", 400, "empty request body"),
    ("a list", b'["hi"]', 400, "must be a JSON object"),
    ("missing sender", b'{"message": "hi"}', 400, "missing field 'sender'"),
    ("missing message", b'{"sender": "x"}', 400, "missing field 'message'"),
    ("sender not a string", b'{"sender": 1.5, "message": "hi"}', 400, "'sender' must be a string"),
    ("sender a boolean", b'{"sender": true, "message": "hi"}', 400, "'sender' must be a string"),
    ("message not a string", b'{"sender": "x", "message": {"a": 1}}', 400, "'message' must be a string"),
    ("empty message", b'{"sender": "x", "message": "   "}', 400, "must not be empty"),
    (
        "metadata not an object",
        b'{"sender": "x", "message": "hi", "metadata": [1]}',
        400,
        "'metadata' must be a JSON object",
    ),
    (
        "unknown language",
        b'{"sender": "x", "message": "hi", "metadata": {"language": "de"}}',
        400,
        "not one of",
    ),
    (
        "unknown bot",
        b'{"sender": "x", "message": "hi", "metadata": {"bot": "taxi"}}',
        400,
        "not an installed bot",
    ),
    (
        "unknown payload intent",
        b'{"sender": "x", "message": "/restaurant.order_pizza"}',
        400,
        "not an intent",
    ),
    ("unknown payload bot", b'{"sender": "x", "message": "/cinema.book"}', 400, "unknown bot"),
    (
        "payload with bad JSON",
        b'{"sender": "x", "message": "/restaurant.book_table{oops}"}',
        400,
        "invalid JSON",
    ),
    (
        "payload with unknown entity",
        b'{"sender": "x", "message": "/restaurant.book_table{\\"color\\": 1}"}',
        400,
        "not entities",
    ),
    ("NUL in message", b'{"sender": "x", "message": "hi\\u0000"}', 400, "NUL"),
    ("message too long", json.dumps({"sender": "x", "message": "a" * 5000}).encode(), 413, "limit is 4096"),
    ("1 MB message", json.dumps({"sender": "x", "message": "a" * 1_048_576}).encode(), 413, "too large"),
    # stored as given, and orjson stops at 254 levels: refused well before
    (
        "deep metadata",
        json.dumps({"sender": "x", "message": "hi", "metadata": {"x": json.loads(_nested(260))}}).encode(),
        400,
        "'metadata' nests more than 32 levels",
    ),
    (
        "deep payload",
        _pressed('/restaurant.inform{"cuisine": ' + _nested(40) + "}"),
        400,
        "entities nest more than 32 levels",
    ),
    (
        "payload deeper than the decoder goes",
        _pressed('/restaurant.inform{"cuisine": ' + _nested(2000) + "}"),
        400,
        "entities nest more than 32 levels",
    ),
]


@pytest.mark.parametrize(("name", "body", "status", "says"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    client: TestClient, plaza: Plaza, name: str, body: bytes, status: int, says: str
) -> None:
    await _say(client, "x", "hello")  # some state that must survive the bad request
    before = (await _count(plaza, Message), await _count(plaza, Conversation))
    response = await client.post(WEBHOOK, data=io.BytesIO(body), headers={"Content-Type": "application/json"})
    assert response.status == status
    error = await response.json()
    assert says in error["error"]
    assert (await _count(plaza, Message), await _count(plaza, Conversation)) == before
    after = await _say(client, "x", "hello")
    assert after[0]["text"].startswith("Hello")


async def test_a_numeric_sender_is_a_user_id_as_in_rasa(client: TestClient, plaza: Plaza) -> None:
    numeric = await client.post(WEBHOOK, json={"sender": 12345, "message": "hello"})
    assert numeric.status == 200
    [reply] = await numeric.json()
    assert reply["recipient_id"] == "12345"
    assert reply["text"].startswith("Hello")
    conversations = await _count(plaza, Conversation)
    again = await _say(client, "12345", "hello")  # the same user as the string id
    assert again[0]["recipient_id"] == "12345"
    assert await _count(plaza, Conversation) == conversations


async def test_model_parse_rejects_bad_input(client: TestClient) -> None:
    for body, says in [
        ({"text": 3}, "'text' must be a string"),
        ({}, "missing field 'text'"),
        ({"text": "hi", "bot": "nope"}, "unknown bot"),
        ({"text": "hi", "lang": "de"}, "unknown language"),
    ]:
        response = await client.post("/model/parse", json=body)
        assert response.status == 400
        assert says in (await response.json())["error"]
    assert (await client.get(WEBHOOK)).status == 405
    assert (await client.get("/nowhere")).status == 404


HUGE_NUMBERS = [
    "a table for 100000000000000000000 people",
    "my number is 12345678901234567890123",
    "something under 99999999999999999999999 euros",
    "18446744073709551616",
    "une table pour cent milliards de milliards de personnes",
    "dans 99999999999999999999 jours",
    "in 9999 years",
]


@pytest.mark.parametrize("message", HUGE_NUMBERS)
async def test_a_message_with_a_huge_number_is_answered_and_kept(
    client: TestClient, plaza: Plaza, message: str
) -> None:
    """Once a 500 that lost the turn (orjson cannot store an int of 20 digits): now the number is
    no entity, the bot answers as to any message, and the turn is stored."""
    assert await _say(client, "nico", message)
    table = table_of(Message)
    rows = await plaza.db.read(lambda c: c.execute(select(table.c.direction, table.c.body)).all())
    assert [body["text"] for direction, body in rows if direction == "in"] == [message]
    assert any(direction == "out" for direction, _ in rows)
    parse = await (await client.post("/model/parse", json={"text": message, "bot": "restaurant"})).json()
    assert unsafe_number([e["value"] for e in parse["entities"]]) is None


async def test_a_huge_party_typed_in_the_booking_form_is_asked_again(client: TestClient) -> None:
    """2^64 typed when the form asks how many: once a 500 mid-form, now the question again."""
    assert "For which day?" in await _say_text(client, "olga", "book a table at Chez Anand")
    assert "At what time?" in await _say_text(client, "olga", "tomorrow")
    assert "For how many people?" in await _say_text(client, "olga", "8pm")
    assert "For how many people?" in await _say_text(client, "olga", "18446744073709551616")  # 2^64
    assert "Shall I book Chez Anand, tomorrow at 8:00 pm, for 2 people?" in await _say_text(
        client, "olga", "2"
    )


PAYLOAD_NUMBERS = ["1e20", "100000000000000000000", "9007199254740992", "NaN", "-Infinity", "1e400"]


@pytest.mark.parametrize("raw", PAYLOAD_NUMBERS)
async def test_a_payload_number_json_cannot_carry_is_refused_like_any_unusable_value(
    client: TestClient, plaza: Plaza, raw: str
) -> None:
    """Like "people": "abc", and like the same digits typed: no entity, so the form asks again
    (once a 500, and NaN or an infinity stored as null). The payload's text is kept as sent."""
    assert any(
        r.get("text") for r in await _say(client, "rita", f'/restaurant.book_table{{"people": {raw}}}')
    )
    assert "For how many people?" in await _say_text(client, "rita", "book Nonna Pierina tomorrow at 8pm")
    pressed = f'/restaurant.inform{{"people": {raw}}}'
    assert "For how many people?" in await _say_text(client, "rita", pressed)
    table = table_of(Message)
    rows = await plaza.db.read(
        lambda c: c.execute(select(table.c.body).where(table.c.direction == "in").order_by(table.c.id)).all()
    )
    assert rows[-1][0]["text"] == pressed
    assert "for 4 people?" in await _say_text(client, "rita", '/restaurant.inform{"people": 4}')


async def test_a_client_that_leaves_before_its_replies_is_no_error(
    client: TestClient, plaza: Plaza, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp logged "Error handling request" with a traceback; the replies stay pending, and
    re-sending the message with its message_id gets them."""
    real_prepare = web.Response.prepare

    async def transport_closing(self: web.Response, request: web.BaseRequest) -> Any:
        raise ConnectionResetError("Cannot write to closing transport")  # the client is gone

    monkeypatch.setattr(web.Response, "prepare", transport_closing)
    body = {"sender": "gone", "message": "hello", "metadata": {"message_id": "m1"}}
    with caplog.at_level("INFO"), pytest.raises(aiohttp.ClientError):
        await client.post(WEBHOOK, json=body)
    monkeypatch.setattr(web.Response, "prepare", real_prepare)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [r.getMessage() for r in caplog.records]
    await plaza.delivery.flush()
    states = await plaza.db.read(lambda c: [r[0] for r in c.execute(select(table_of(Delivery).c.state))])
    assert states
    assert set(states) == {"pending"}
    again = await _say(client, "gone", "hello", message_id="m1")
    assert again[0]["text"].startswith("Hello")
