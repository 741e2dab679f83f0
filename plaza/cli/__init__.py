"""The `plaza` command: every sub-command is wired here, in one visible place.

Library code raises typed errors; this is the one place that turns them into a message on
stderr and an exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from plaza.errors import PlazaError

Command = Callable[[argparse.Namespace], int]


def _nlu_eval(args: argparse.Namespace) -> int:
    from plaza.nlu.evaluate import run_from_args

    return run_from_args(args)


def _lazy(name: str) -> Command:
    def command(args: argparse.Namespace) -> int:
        from plaza.cli import commands

        func: Command = getattr(commands, name)
        return func(args)

    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plaza", description="Plaza conversational commerce framework")
    parser.add_argument(
        "--app", default=".", help="the app folder (with config.yml); default: current folder"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="migrate, train what changed, and serve the app over HTTP")
    run.add_argument("--host", default=None, help="interface to bind (default from config.yml: 127.0.0.1)")
    run.add_argument("--port", type=int, default=None, help="port (default from config.yml: 5005)")
    run.set_defaults(func=_lazy("run"))

    chat = sub.add_parser("chat", help="talk to the app in the terminal")
    chat.add_argument("--lang", default=None, help="the language to start in (en, fr); detected per message")
    chat.add_argument("--sender", default=None, help="your user id (default: a new one each session)")
    chat.add_argument(
        "--url", default=None, help="talk to a running server (http://127.0.0.1:5005) over REST"
    )
    chat.set_defaults(func=_lazy("chat"))

    train = sub.add_parser("train", help="train the NLU models whose data or configuration changed")
    train.add_argument("--force", action="store_true", help="retrain every model")
    train.set_defaults(func=_lazy("train"))

    test = sub.add_parser("test", help="run the conversation tests (tests/conversations/*.yml)")
    test.add_argument("paths", nargs="*", help="conversation test files (default: all)")
    test.set_defaults(func=_lazy("test"))

    db = sub.add_parser("db", help="database tools").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="apply pending migrations")
    upgrade.set_defaults(func=_lazy("db_upgrade"))

    nlu = sub.add_parser("nlu", help="NLU tools").add_subparsers(dest="nlu_command", required=True)
    ev = nlu.add_parser("eval", help="train on one data file, evaluate on another")
    ev.add_argument(
        "--train", required=True, help="training data: JSONL (text, intent, entities per line) or Rasa YAML"
    )
    ev.add_argument("--test", required=True, help="test data, JSONL or Rasa YAML (.yml, .yaml)")
    ev.add_argument("--report", default=None, help="folder for a readable report (per-intent scores, PNG)")
    ev.add_argument(
        "--lang", default=None, choices=("en", "fr"), help="language of the data; detected when not given"
    )
    ev.add_argument(
        "--config", default=None, help="pipeline options: a config.yml (its nlu.pipeline) or a mapping"
    )
    ev.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="one pipeline option, e.g. sentence_encoder=minilm",
    )
    ev.set_defaults(func=_nlu_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Command = args.func
    try:
        return func(args)
    except PlazaError as exc:
        print(f"plaza: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
