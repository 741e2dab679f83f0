"""The readable evaluation report written by `plaza nlu eval --report DIR`.

* `report.md` — the summary figures, per-intent precision/recall/F1, per-entity-type scores,
  the most frequent confusions and the worst errors (wrong answers given with the highest
  confidence, which are the ones a user notices);
* `confusion.png` — the confusion matrix, rows gold and columns predicted, coloured by the
  share of the row (blue on the diagonal, red off it), labelled on both axes; the cell size
  and font adapt so 77 classes stay legible;
* `errors.jsonl` — every intent or entity error, for grepping.

Pillow is imported here only: it is needed for the PNG, not for training or parsing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from plaza.nlu.evaluate import EvalResult, Prediction

__all__ = ["draw_confusion", "write_report"]

_WORST = 30


def write_report(result: EvalResult, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    draw_confusion(result, directory / "confusion.png")
    (directory / "report.md").write_text(_markdown(result), encoding="utf-8")
    with (directory / "errors.jsonl").open("w", encoding="utf-8") as fh:
        for p in result.predictions:
            if p.intent != p.gold_intent or p.entities != p.gold_entities:
                fh.write(json.dumps(_error_row(p), ensure_ascii=False) + "\n")
    return directory


def _error_row(p: Prediction) -> dict[str, Any]:
    def spans(s: frozenset[tuple[int, int, str]]) -> list[dict[str, Any]]:
        return [{"start": a, "end": b, "entity": t, "text": p.text[a:b]} for a, b, t in sorted(s)]

    return {
        "text": p.text,
        "gold_intent": p.gold_intent,
        "intent": p.intent,
        "confidence": round(p.confidence, 4),
        "missed_entities": spans(p.gold_entities - p.entities),
        "wrong_entities": spans(p.entities - p.gold_entities),
    }


def _markdown(result: EvalResult) -> str:
    s = result.summary
    lines = ["# NLU evaluation report", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {'—' if v is None else v} |" for k, v in s.items()]
    lines += [
        "",
        "![confusion matrix](confusion.png)",
        "",
        "## Intents",
        "",
        "| intent | precision | recall | F1 | support | predicted |",
        "|---|---|---|---|---|---|",
    ]
    for c in sorted(result.class_scores, key=lambda c: (c.f1, c.label)):
        lines.append(
            f"| {c.label} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.support} | {c.predicted} |"
        )
    if result.entity_scores:
        lines += [
            "",
            "## Entities (exact span and type)",
            "",
            "| entity | precision | recall | F1 | tp | fp | fn |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, e in sorted(result.entity_scores.items(), key=lambda kv: (kv[1].f1, kv[0])):
            lines.append(
                f"| {name} | {e.precision:.3f} | {e.recall:.3f} | {e.f1:.3f} | {e.tp} | {e.fp} | {e.fn} |"
            )
    confusions = Counter((p.gold_intent, p.intent) for p in result.predictions if p.intent != p.gold_intent)
    if confusions:
        lines += ["", "## Most frequent confusions", "", "| gold | predicted | count |", "|---|---|---|"]
        lines += [f"| {g} | {p} | {n} |" for (g, p), n in confusions.most_common(20)]
    wrong = sorted((p for p in result.predictions if p.intent != p.gold_intent), key=lambda p: -p.confidence)
    if wrong:
        lines += [
            "",
            "## Worst intent errors (most confident first)",
            "",
            "| text | gold | predicted | confidence |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(p.text)} | {p.gold_intent} | {p.intent} | {p.confidence:.3f} |" for p in wrong[:_WORST]
        ]
    ent_wrong = [p for p in result.predictions if p.entities != p.gold_entities]
    if ent_wrong:
        lines += ["", "## Entity errors (first ones)", "", "| text | missed | wrong |", "|---|---|---|"]
        for p in ent_wrong[:_WORST]:
            row = _error_row(p)
            missed = ", ".join(f"{e['text']} ({e['entity']})" for e in row["missed_entities"])
            extra = ", ".join(f"{e['text']} ({e['entity']})" for e in row["wrong_entities"])
            lines.append(f"| {_cell(p.text)} | {_cell(missed)} | {_cell(extra)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def draw_confusion(result: EvalResult, path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - Pillow only for the report

    labels = result.labels or sorted(
        {p.gold_intent for p in result.predictions} | {p.intent for p in result.predictions}
    )
    index = {lab: i for i, lab in enumerate(labels)}
    n = len(labels)
    counts = [[0] * n for _ in range(n)]
    for p in result.predictions:
        if p.gold_intent in index and p.intent in index:
            counts[index[p.gold_intent]][index[p.intent]] += 1
    cell = max(14, min(44, 1400 // max(1, n)))
    font_px = max(10, min(15, cell - 3))
    font: Any
    try:
        font = ImageFont.load_default(size=font_px)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        font = ImageFont.load_default()
    names = [lab if len(lab) <= 34 else lab[:33] + "…" for lab in labels]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max((int(probe.textlength(s, font=font)) for s in names), default=0) + 12
    title_h = font_px * 4
    left, top = text_w, text_w + title_h
    size = (left + n * cell + 20, top + n * cell + 20)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 6), "Confusion matrix: rows = gold, columns = predicted;", fill="black", font=font)
    draw.text(
        (10, 6 + font_px + 4),
        "colour = share of the row (blue diagonal, red errors)",
        fill="black",
        font=font,
    )
    for i, row in enumerate(counts):
        total = sum(row) or 1
        for j, c in enumerate(row):
            x0, y0 = left + j * cell, top + i * cell
            share = c / total
            if c == 0:
                colour = (255, 255, 255)
            elif i == j:
                colour = (int(235 - 200 * share), int(242 - 150 * share), 255)
            else:
                colour = (255, int(225 - 205 * min(1.0, share * 3)), int(225 - 205 * min(1.0, share * 3)))
            draw.rectangle((x0, y0, x0 + cell, y0 + cell), fill=colour, outline=(215, 215, 215))
            if c and cell >= 22:
                dark = (i == j and share > 0.5) or (i != j and share > 0.2)
                label = str(c)
                tw = probe.textlength(label, font=font)
                draw.text(
                    (x0 + (cell - tw) / 2, y0 + (cell - font_px) / 2 - 1),
                    label,
                    fill="white" if dark else "black",
                    font=font,
                )
    for i, name in enumerate(names):
        tw = probe.textlength(name, font=font)
        draw.text((left - 6 - tw, top + i * cell + (cell - font_px) / 2 - 1), name, fill="black", font=font)
        # column labels: drawn horizontally on a strip, rotated to read bottom-up
        strip = Image.new("RGB", (text_w, cell), "white")
        ImageDraw.Draw(strip).text((6, (cell - font_px) / 2 - 1), name, fill="black", font=font)
        img.paste(strip.rotate(90, expand=True), (left + i * cell, title_h))
    img.save(path, optimize=True)
