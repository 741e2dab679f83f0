"""Typed messages at the edges of the engine: what a connector hands in, what the engine hands out.

A connector turns a platform event into an `Inbound`; the engine answers with `Reply` objects,
which a connector renders with what its platform can show (`Capability`), degrading the rest with
`degrade()` (a card becomes text plus buttons, buttons become numbered options in a terminal).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str
    url: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a user, as a connector received it.

    `external_id` is the platform's id for the message (Telegram update id, a REST client's
    `message_id`): a second delivery with the same (channel, channel_user_id, external_id) is
    answered with the replies stored the first time, not run again. It need be unique only among
    the sender's own messages on the channel; the same id from another sender is another message.
    A connector whose platform numbers messages per chat, where one user writes in several chats
    (Telegram's message_id in groups), passes an id unique for the user (Telegram's update_id).
    `bot` names the bot chat the message was sent in; None is the concierge chat.
    `language` is what the channel knows of the user's language (a Telegram client's setting,
    `plaza chat --lang`): a new conversation starts in it; each message's own language, when
    detected surely, still wins.
    """

    channel: str
    channel_user_id: str
    chat_id: str
    text: str | None = None
    payload: str | None = None
    location: Location | None = None
    attachment: Attachment | None = None
    external_id: str | None = None
    bot: str | None = None
    language: str | None = None
    display_name: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def content(self) -> str:
        """The text the NLU sees: a pressed button's payload wins over typed text."""
        return self.payload if self.payload is not None else (self.text or "")


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}

    @classmethod
    def from_action(cls, raw: Mapping[str, Any]) -> Button:
        """A button as an action or the dialogue state wrote it (any JSON value, made text)."""
        return cls(str(raw["title"]), str(raw["payload"]))


@dataclass(frozen=True, slots=True)
class Card:
    """A rich item (a restaurant, a product): title, optional subtitle/image, its own buttons."""

    title: str
    subtitle: str | None = None
    image_url: str | None = None
    buttons: tuple[Button, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "image_url": self.image_url,
            "buttons": [b.to_dict() for b in self.buttons],
        }


class Capability(enum.Enum):
    TEXT = "text"
    BUTTONS = "buttons"
    CARDS = "cards"
    IMAGE = "image"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Reply:
    """One outgoing message. Several parts may be present; `text` is always the fallback."""

    text: str | None = None
    buttons: tuple[Button, ...] = ()
    cards: tuple[Card, ...] = ()
    image: str | None = None
    custom: Mapping[str, Any] | None = None

    @property
    def kind(self) -> str:
        if self.cards:
            return "carousel" if len(self.cards) > 1 else "card"
        if self.buttons:
            return "buttons"
        if self.image:
            return "image"
        if self.custom is not None and self.text is None:
            return "custom"
        return "text"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.text is not None:
            out["text"] = self.text
        if self.buttons:
            out["buttons"] = [b.to_dict() for b in self.buttons]
        if self.cards:
            out["cards"] = [c.to_dict() for c in self.cards]
        if self.image is not None:
            out["image"] = self.image
        if self.custom is not None:
            out["custom"] = dict(self.custom)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        return cls(
            text=data.get("text"),
            buttons=tuple(Button(b["title"], b["payload"]) for b in data.get("buttons") or ()),
            cards=tuple(
                Card(
                    title=c["title"],
                    subtitle=c.get("subtitle"),
                    image_url=c.get("image_url"),
                    buttons=tuple(Button(b["title"], b["payload"]) for b in c.get("buttons") or ()),
                )
                for c in data.get("cards") or ()
            ),
            image=data.get("image"),
            custom=data.get("custom"),
        )


def degrade(reply: Reply, capabilities: frozenset[Capability]) -> list[Reply]:
    """Rewrite a reply into parts a connector can render, losing as little as possible.

    Cards without CARDS become one text+buttons reply each; buttons without BUTTONS become a
    numbered list in the text (the terminal's "type 2 to press the second button").
    """
    parts: list[Reply] = []
    if reply.cards and Capability.CARDS not in capabilities:
        if reply.text:
            parts.append(replace(reply, cards=()))
        for card in reply.cards:
            lines = [card.title] + ([card.subtitle] if card.subtitle else [])
            parts.append(Reply(text="\n".join(lines), buttons=card.buttons, image=card.image_url))
    else:
        parts.append(reply)
    out: list[Reply] = []
    for part in parts:
        fixed = part
        if fixed.image and Capability.IMAGE not in capabilities:
            fixed = replace(fixed, image=None)
        if fixed.custom is not None and Capability.CUSTOM not in capabilities:
            fixed = replace(fixed, custom=None)
        if fixed.buttons and Capability.BUTTONS not in capabilities:
            numbered = "\n".join(f"  {i}. {b.title}" for i, b in enumerate(fixed.buttons, 1))
            fixed = replace(fixed, text=f"{fixed.text}\n{numbered}" if fixed.text else numbered, buttons=())
        if fixed.text or fixed.buttons or fixed.cards or fixed.image or fixed.custom is not None:
            out.append(fixed)
    return out
