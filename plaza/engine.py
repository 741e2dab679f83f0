"""The one path a message takes, top to bottom (docs/architecture.md).

    connector -> Inbound
    1. gateway:  who is this, which conversation (cached; created on first contact)
    2. lock:     one message per conversation at a time, in order
    3. router:   which bot answers, and the NLU's parse of the message
    4. dialogue: slots, forms, rules, actions -> events, replies, staged domain writes
    5. commit:   one transaction: domain writes, messages, outbox rows, events, tracker snapshot
    -> replies for the connector to render, then mark sent

A re-delivered message (same channel, sender and external id) is caught by a unique index at
commit and answered with the replies stored the first time. An external id is unique only among
one sender's messages (a REST client numbers its own): from another sender it is another message.
A commit that loses a race (the tracker moved, the last table went) is rolled back and the turn
runs again on fresh state.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError

from plaza.clock import Clock
from plaza.dialogue.events import UserUttered
from plaza.dialogue.manager import DialogueManager
from plaza.dialogue.state import ConversationState
from plaza.errors import ConflictError, UnstorableValue
from plaza.messages import Inbound
from plaza.messaging.locks import ConversationLocks
from plaza.nlu.types import ParseResult
from plaza.router import Router
from plaza.storage.committer import TurnCommitter
from plaza.storage.conversations import ConversationRef, find_or_create_conversation, load_state
from plaza.storage.database import Database
from plaza.storage.ids import ids
from plaza.storage.staging import collect_staged_writes
from plaza.storage.turns import StoredReply, TurnRecord, replies_to, storable_turn

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STATE_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class TurnResult:
    conversation_id: int
    replies: list[StoredReply]
    parse: ParseResult | None = None
    """None for a re-delivered message, answered with the replies stored the first time."""


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        router: Router,
        dialogue: DialogueManager,
        locks: ConversationLocks,
        clock: Clock,
        default_language: str,
        committer: TurnCommitter,
    ) -> None:
        self._db = db
        self._committer = committer
        self._router = router
        self._dialogue = dialogue
        self._locks = locks
        self._clock = clock
        self._default_language = default_language
        self._refs: OrderedDict[tuple[str, str, str], ConversationRef] = OrderedDict()
        self._states: OrderedDict[int, ConversationState] = OrderedDict()

    async def handle(self, inbound: Inbound) -> TurnResult:
        ref = await self._conversation(inbound)
        async with self._locks.hold(ref.conversation_id):
            reseeded = False
            for _attempt in range(MAX_ATTEMPTS):
                state = await self.state(ref.conversation_id)
                try:
                    record, result = await self._run_turn(state, inbound, ref)
                    stored = await self._commit(record)
                except ConflictError as exc:
                    log.info("turn on conversation %s retried: %s", ref.conversation_id, exc)
                    self._forget(ref.conversation_id)
                    continue
                except IntegrityError:
                    self._forget(ref.conversation_id)
                    if inbound.external_id is not None:
                        previous = await self._stored_replies(
                            inbound.channel, inbound.channel_user_id, inbound.external_id
                        )
                        if previous is not None:
                            return TurnResult(ref.conversation_id, previous)
                    if reseeded:
                        raise  # not a re-delivery, not an id collision: a real fault, logged as such
                    ids.reseed()  # another worker drew the same id node: draw again
                    reseeded = True
                    continue
                except BaseException:
                    self._forget(ref.conversation_id)
                    raise
                state.version += 1
                if stored is record:
                    self._remember(state)
                    return result
                # stored differs from memory (a value as its text): the next turn reads it back
                self._forget(ref.conversation_id)
                return replace(result, replies=stored.replies)
        raise ConflictError(
            f"conversation {ref.conversation_id}: gave up after {MAX_ATTEMPTS} conflicting attempts"
        )

    async def _commit(self, record: TurnRecord) -> TurnRecord:
        """Commit the turn; one holding a value storage cannot encode is stored with it as text.

        The entry points refuse such values (extractors, button payloads), so this is a bug
        upstream, logged as one; the user's turn is kept and answered all the same.
        """
        try:
            await self._committer.commit(record)
        except UnstorableValue as exc:
            problem = exc
        else:
            return record
        stored = storable_turn(record)
        await self._committer.commit(stored)
        log.error("conversation %s: %s; the turn was stored with it as text", record.conversation_id, problem)
        return stored

    async def _run_turn(
        self, state: ConversationState, inbound: Inbound, ref: ConversationRef
    ) -> tuple[TurnRecord, TurnResult]:
        now = self._clock.now()
        stamp = now.timestamp()
        understood = self._router.understand(inbound, state, now)
        state.language = understood.language
        inbound_id = ids.next()
        parse_data = understood.parse.to_rasa()
        user_event = UserUttered(
            inbound.text if inbound.payload is None else inbound.payload,
            parse_data,
            inbound.channel,
            str(inbound_id),
            timestamp=stamp,
        )
        with collect_staged_writes() as staged:
            output = await self._dialogue.respond(state, understood.bot, understood.parse, user_event, staged)
        replies = [StoredReply(ids.next(), ids.next(), r.bot, r.reply) for r in output.replies]
        record = TurnRecord(
            conversation_id=ref.conversation_id,
            expected_version=state.version,
            state=state.to_json(),
            now=now,
            inbound_id=inbound_id,
            channel=inbound.channel,
            channel_user_id=inbound.channel_user_id,
            address=inbound.chat_id,
            external_id=inbound.external_id,
            inbound_kind="payload" if inbound.payload is not None else "text",
            inbound_body=_inbound_body(inbound),
            language=state.language,
            user_sender=f"user:{ref.user_id}",
            replies=replies,
            events=[(bot, _stamped(wire, stamp)) for bot, _event, wire in output.events],
            staged=list(staged),
        )
        result = TurnResult(ref.conversation_id, replies, understood.parse)
        return record, result

    # -- the gateway's caches -------------------------------------------------------------------
    async def _conversation(self, inbound: Inbound) -> ConversationRef:
        key = (inbound.channel, inbound.channel_user_id, inbound.bot or "")
        ref = self._refs.get(key)
        if ref is not None:
            self._refs.move_to_end(key)
            return ref
        language = inbound.language or self._default_language

        made: list[dict[str, Any]] = []

        def initial(user_id: int, conversation_id: int) -> dict[str, Any]:
            state = ConversationState(
                conversation_id=conversation_id,
                user_id=user_id,
                sender_id=str(user_id),
                language=language,
                bot=inbound.bot,
            )
            made.append(state.to_json())
            return made[-1]

        ref = await self._db.write(
            lambda conn: find_or_create_conversation(
                conn,
                channel=inbound.channel,
                channel_user_id=inbound.channel_user_id,
                bot=inbound.bot or "",
                display_name=inbound.display_name,
                language=inbound.language,
                initial_state=initial,
            )
        )
        self._refs[key] = ref
        if len(self._refs) > STATE_CACHE_SIZE:
            self._refs.popitem(last=False)
        if ref.created and made and ref.conversation_id not in self._states:
            # the first turn needs no read: its snapshot is the one just committed
            self._remember(ConversationState.from_json(made[-1], 0))
        return ref

    async def state(self, conversation_id: int) -> ConversationState:
        """The conversation's committed tracker snapshot (do not mutate it)."""
        state = self._states.get(conversation_id)
        if state is not None:
            self._states.move_to_end(conversation_id)
            return state
        data, version = await self._db.read(lambda conn: load_state(conn, conversation_id))
        return ConversationState.from_json(data, version)

    def _remember(self, state: ConversationState) -> None:
        self._states[state.conversation_id] = state
        self._states.move_to_end(state.conversation_id)
        if len(self._states) > STATE_CACHE_SIZE:
            self._states.popitem(last=False)

    def _forget(self, conversation_id: int) -> None:
        self._states.pop(conversation_id, None)

    async def _stored_replies(
        self, channel: str, channel_user_id: str, external_id: str
    ) -> list[StoredReply] | None:
        """The replies to this sender's earlier delivery of the message, if there was one."""
        return await self._db.read(
            lambda conn: replies_to(
                conn, channel=channel, channel_user_id=channel_user_id, external_id=external_id
            )
        )


def _stamped(data: dict[str, Any], stamp: float) -> dict[str, Any]:
    """The event as stored: with the turn's time when it has none (a copy: the snapshot shares `data`)."""
    return {**data, "timestamp": stamp} if data.get("timestamp") is None else data


def _inbound_body(inbound: Inbound) -> dict[str, Any]:
    body: dict[str, Any] = {"text": inbound.text}
    if inbound.payload is not None:
        body["payload"] = inbound.payload
    if inbound.location is not None:
        body["location"] = {"latitude": inbound.location.latitude, "longitude": inbound.location.longitude}
    if inbound.attachment is not None:
        body["attachment"] = {"kind": inbound.attachment.kind, "url": inbound.attachment.url}
    if inbound.metadata:
        body["metadata"] = dict(inbound.metadata)
    return body
