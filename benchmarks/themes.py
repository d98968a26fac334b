"""How well the offline themes (core/themes.py) name what customers wrote about.

    .venv/bin/python benchmarks/themes.py            # labelled set and holdout
    .venv/bin/python benchmarks/themes.py --errors   # and every comment it got wrong

Reads tests/data/themes_labelled.jsonl (the comments the lexicon was tuned on) and
tests/data/themes_holdout.jsonl (written at the same time, never used for tuning). Prints
per language the precision, recall and F1 of theme assignment (micro-averaged over
comment x theme pairs: a comment may name several themes or none) and the adjusted
Rand index of the grouping (each comment in the group of its first theme, "none" for
no theme) against the labels. Target: F1 >= 0.8 in every language.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import themes  # noqa: E402
from core.text import LANGUAGES  # noqa: E402

DATA = ROOT / "tests" / "data"
SETS = {"labelled": DATA / "themes_labelled.jsonl", "holdout": DATA / "themes_holdout.jsonl"}
TARGET_F1 = 0.8


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def scores(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per language (and "all"): precision, recall, f1, ari, n."""
    from sklearn.metrics import adjusted_rand_score

    out: dict[str, dict[str, float]] = {}
    for lang in (*LANGUAGES, "all"):
        chosen = [r for r in rows if lang == "all" or r["lang"] == lang]
        tp = fp = fn = 0
        truth, guess = [], []
        for r in chosen:
            want = set(r["themes"])
            got = themes.assign(r["text"])
            tp += len(want & set(got))
            fp += len(set(got) - want)
            fn += len(want - set(got))
            truth.append(r["themes"][0] if r["themes"] else "none")
            guess.append(_group(got, want))
        p = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        ari = float(adjusted_rand_score(truth, guess))
        out[lang] = {"precision": p, "recall": rec, "f1": f1, "ari": ari, "n": len(chosen)}
    return out


def _group(got: tuple[str, ...], want: set[str]) -> str:
    # A comment labelled with several themes belongs to any of them: the guessed group
    # is the first guessed theme that is among the labels, else the first guessed.
    for key in got:
        if key in want:
            return key
    return got[0] if got else "none"


def errors(rows: list[dict]) -> list[str]:
    lines = []
    for r in rows:
        got = themes.assign(r["text"])
        if set(got) != set(r["themes"]):
            lines.append(f"{r['id']}\twant {sorted(r['themes'])}\tgot {list(got)}\t{r['text']}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the comments it got wrong")
    parser.add_argument("--set", choices=[*SETS, "both"], default="both")
    args = parser.parse_args()
    failed = False
    names = list(SETS) if args.set == "both" else [args.set]
    for name in names:
        rows = load(SETS[name])
        began = time.perf_counter()
        table = scores(rows)
        took = time.perf_counter() - began
        print(f"\n{name}: {len(rows)} comments ({took * 1000:.0f} ms)")
        print(f"{'lang':<5} {'n':>4} {'precision':>9} {'recall':>7} {'F1':>6} {'ARI':>6}")
        for lang, s in table.items():
            print(
                f"{lang:<5} {int(s['n']):>4} {s['precision']:>9.3f} {s['recall']:>7.3f}"
                f" {s['f1']:>6.3f} {s['ari']:>6.3f}"
            )
            if lang != "all" and s["f1"] < TARGET_F1:
                failed = True
        if args.errors:
            print("\n".join(errors(rows)))
    print(f"\ntarget F1 >= {TARGET_F1} per language: {'missed' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
