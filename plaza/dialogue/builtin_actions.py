"""Actions every bot has, provided by the engine."""

from __future__ import annotations

from collections.abc import Callable

from plaza.messages import Button
from plaza.sdk import Action, CollectingDispatcher, DomainDict, Event, Tracker

MenuSource = Callable[[str], list[Button]]


class ActionMenu(Action):
    """Greets, helps or offers the next step, always with the installed bots' menus as buttons."""

    def __init__(self, menu: MenuSource) -> None:
        self._menu = menu

    def name(self) -> str:
        return "action_menu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[Event]:
        intent = tracker.get_intent_of_latest_message()
        response = {"greet": "utter_greet", "help": "utter_help"}.get(intent or "", "utter_menu")
        buttons = [b.to_dict() for b in self._menu(tracker.language)]
        dispatcher.utter_message(response=response, buttons=buttons)
        return []
