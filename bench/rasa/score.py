"""Score a trained Rasa NLU model on a JSON-lines test file with Plaza's metric definitions.

`rasa test nlu` reports intent accuracy and a *token-level* entity F1 (weighted or micro over
tokens).  Plaza's `plaza nlu eval` reports an exact *span* F1 (micro, (start, end, type) must all
match, conlleval style).  This script parses every test message with the trained Rasa model, one
message at a time as a server would, and computes Plaza's definitions so the figures compare:

* ``intent_accuracy``: the intent Rasa decides (``nlu_fallback`` from FallbackClassifier counts
  as wrong, like Plaza's out-of-scope decision);
* ``intent_accuracy_without_fallback``: the best intent other than ``nlu_fallback``;
* ``entity_f1`` / ``_precision`` / ``_recall``: exact spans, micro-averaged; null without
  gold entities;
* ``parse_ms_p50`` / ``parse_ms_p99``: per-message ``Agent.parse_message`` latency;
* ``peak_rss_mb``: this process's peak resident memory (VmHWM).

Runs with Rasa's interpreter (it imports rasa), e.g.

    /work/rasa-venv/bin/python bench/rasa/score.py MODEL.tar.gz /work/shared/data/nlu/snips/test.jsonl

The last stdout line is a JSON object; ``--predictions FILE`` also writes each parse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

FALLBACK = "nlu_fallback"


def peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def spans(entities: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    return {(int(e["start"]), int(e["end"]), str(e["entity"])) for e in entities}


def score(rows: list[dict[str, Any]], parses: list[dict[str, Any]], latencies: list[float]) -> dict[str, Any]:
    correct = correct_no_fallback = fallbacks = 0
    true_pos = n_pred = n_gold = 0
    for row, parse in zip(rows, parses, strict=True):
        decided = (parse.get("intent") or {}).get("name")
        ranking = [r["name"] for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK]
        best = ranking[0] if ranking else decided
        correct += decided == row["intent"]
        correct_no_fallback += best == row["intent"]
        fallbacks += decided == FALLBACK
        gold = spans(row.get("entities") or [])
        pred = spans(parse.get("entities") or [])
        true_pos += len(gold & pred)
        n_pred += len(pred)
        n_gold += len(gold)
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)

    has_entities = any(row.get("entities") for row in rows)
    precision = true_pos / n_pred if n_pred else 0.0
    recall = true_pos / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "examples": len(rows),
        "intent_accuracy": round(correct / len(rows), 4),
        "intent_accuracy_without_fallback": round(correct_no_fallback / len(rows), 4),
        "fallbacks": fallbacks,
        "entity_f1": round(f1, 4) if has_entities else None,
        "entity_precision": round(precision, 4) if has_entities else None,
        "entity_recall": round(recall, 4) if has_entities else None,
        "parse_ms_p50": pct(0.50),
        "parse_ms_p99": pct(0.99),
    }


async def parse_all(model: str, texts: list[str]) -> tuple[list[dict[str, Any]], list[float], float]:
    from rasa.core.agent import Agent  # Rasa's interpreter only

    started = time.perf_counter()
    agent = Agent.load(model)
    loaded = time.perf_counter() - started
    parses: list[dict[str, Any]] = []
    latencies: list[float] = []
    for text in texts:
        began = time.perf_counter()
        parses.append(await agent.parse_message(text))
        latencies.append(time.perf_counter() - began)
    return parses, latencies, loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a model archive written by `rasa train nlu`")
    parser.add_argument("test", help="JSON-lines test file: text, intent, entities")
    parser.add_argument("--predictions", default=None, help="write each parse to this JSON-lines file")
    args = parser.parse_args()
    rows = [
        json.loads(line) for line in Path(args.test).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    parses, latencies, loaded = asyncio.run(parse_all(args.model, [row["text"] for row in rows]))
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as out:
            for row, parse in zip(rows, parses, strict=True):
                keep = {k: parse.get(k) for k in ("intent", "entities")}
                out.write(json.dumps({"gold": row, "parse": keep}, ensure_ascii=False, default=str) + "\n")
    result = score(rows, parses, latencies)
    result["model_load_seconds"] = round(loaded, 2)
    result["peak_rss_mb"] = peak_rss_mb()
    result["model"] = args.model
    result["test"] = args.test
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
