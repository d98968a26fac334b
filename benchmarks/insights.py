"""Quality of the offline insight analyzer on the labelled set in tests/data.

Run by hand: `.venv/bin/python benchmarks/insights.py [--threshold 0.42]`

Prints
- category accuracy of the offline analyzer (trained on core/lexicons only, never on the
  labelled set), overall, per language and per category;
- the same on a small holdout set written after the rules were settled;
- a 5-fold cross-validated accuracy of the same model when it also learns from the other
  four fifths of the labelled set (what labelled company data would add);
- sentiment and language-detection accuracy;
- near-duplicate precision and recall at the chosen threshold (each insight compared with
  the ones before it, as the product does), and a table over thresholds;
- time per analysis and per duplicate search.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analyzer import (  # noqa: E402
    CATEGORIES,
    SIMILAR_THRESHOLD,
    OfflineAnalyzer,
    _seed_documents,
    similar,
    train_classifier,
)
from core.text import detect_language  # noqa: E402

DATA = ROOT / "tests" / "data" / "insights_labelled.jsonl"
# Written after the rules and word lists were settled and never used to change them:
# the honest out-of-sample figure.
HOLDOUT = ROOT / "tests" / "data" / "insights_holdout.jsonl"


def load_rows(path: Path = DATA) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def category_report(rows: list[dict], predicted: list[str]) -> None:
    total = sum(p == r["category"] for p, r in zip(predicted, rows, strict=True))
    print(
        f"category accuracy (offline, seeds + lexicons only): {total / len(rows):.3f}"
        f"  ({total}/{len(rows)})"
    )
    for key in ("lang", "category"):
        groups: dict[str, list[bool]] = defaultdict(list)
        for p, r in zip(predicted, rows, strict=True):
            groups[r[key]].append(p == r["category"])
        line = "  ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(groups.items()))
        print(f"  by {'language' if key == 'lang' else 'category'}: {line}")
    confusions = Counter(
        (r["category"], p) for p, r in zip(predicted, rows, strict=True) if p != r["category"]
    )
    if confusions:
        worst = ", ".join(f"{t}->{p} x{n}" for (t, p), n in confusions.most_common(6))
        print(f"  most frequent confusions (true->predicted): {worst}")


def cross_validated(rows: list[dict], folds: int = 5) -> float:
    """Accuracy when the classifier also trains on the other folds of the labelled set."""
    seed_docs, seed_labels = _seed_documents()
    correct = 0
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_cat[r["category"]].append(i)
    fold_of = {}
    for idxs in by_cat.values():  # stratified by category, deterministic
        for n, i in enumerate(idxs):
            fold_of[i] = n % folds
    for k in range(folds):
        train = [r for i, r in enumerate(rows) if fold_of[i] != k]
        test = [(i, r) for i, r in enumerate(rows) if fold_of[i] == k]
        clf = train_classifier(
            seed_docs + [r["text"] for r in train], seed_labels + [r["category"] for r in train]
        )
        analyzer = OfflineAnalyzer(classifier=clf)
        correct += sum(analyzer.analyze(r["text"]).category == r["category"] for _, r in test)
    return correct / len(rows)


def duplicate_pairs(rows: list[dict]) -> tuple[dict[tuple[int, int], float], set[tuple[int, int]]]:
    """Similarity of each insight to every earlier one, and the labelled duplicate pairs."""
    scores: dict[tuple[int, int], float] = {}
    for i, r in enumerate(rows):
        earlier = [(j, rows[j]["text"]) for j in range(i)]
        for j, s in similar(r["text"], earlier, threshold=0.0):
            scores[(j, i)] = s
    truth = {
        (j, i)
        for i, r in enumerate(rows)
        for j in range(i)
        if r["dup_group"] and rows[j]["dup_group"] == r["dup_group"]
    }
    return scores, truth


def precision_recall(
    scores: dict[tuple[int, int], float], truth: set[tuple[int, int]], threshold: float
) -> tuple[float, float, int, int]:
    found = {pair for pair, s in scores.items() if s >= threshold}
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, len(found), hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=SIMILAR_THRESHOLD)
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    args = parser.parse_args()

    rows = load_rows()
    langs = Counter(r["lang"] for r in rows)
    groups = Counter(r["dup_group"] for r in rows if r["dup_group"])
    print(
        f"labelled set: {len(rows)} insights, languages {dict(langs)}, "
        f"{len(groups)} near-duplicate groups, categories {len(CATEGORIES)}"
    )

    analyzer = OfflineAnalyzer()
    analyzer.analyze("warm-up")
    start = time.perf_counter()
    analyses = [analyzer.analyze(r["text"]) for r in rows]
    per_text_ms = (time.perf_counter() - start) / len(rows) * 1000

    print()
    category_report(rows, [a.category for a in analyses])
    if not args.no_cv:
        print(
            f"category accuracy, 5-fold cross-validated with the labelled set added to "
            f"training: {cross_validated(rows):.3f}"
        )
    holdout = load_rows(HOLDOUT)
    held = [analyzer.analyze(r["text"]) for r in holdout]
    held_cat = sum(a.category == r["category"] for a, r in zip(held, holdout, strict=True))
    held_sent = sum(a.sentiment == r["sentiment"] for a, r in zip(held, holdout, strict=True))
    print(
        f"holdout set ({len(holdout)} insights written after tuning): category accuracy "
        f"{held_cat / len(holdout):.3f}, sentiment accuracy {held_sent / len(holdout):.3f}"
    )
    sentiment = sum(a.sentiment == r["sentiment"] for a, r in zip(analyses, rows, strict=True))
    print(f"sentiment accuracy: {sentiment / len(rows):.3f}")
    language = sum(detect_language(r["text"]) == r["lang"] for r in rows)
    print(f"language detection accuracy: {language / len(rows):.3f}")

    print()
    start = time.perf_counter()
    scores, truth = duplicate_pairs(rows)
    dup_seconds = time.perf_counter() - start
    p, r, found, hits = precision_recall(scores, truth, args.threshold)
    print(
        f"near-duplicates at threshold {args.threshold:.2f}: precision {p:.3f}  recall {r:.3f}"
        f"  ({hits} of {found} flagged pairs correct, {len(truth)} labelled pairs)"
    )
    print("  threshold  precision  recall")
    for t in (0.25, 0.30, 0.35, 0.40, 0.42, 0.45, 0.50, 0.55, 0.60):
        tp, tr, _, _ = precision_recall(scores, truth, t)
        print(f"  {t:9.2f}  {tp:9.3f}  {tr:6.3f}")

    print()
    print(
        f"time: {per_text_ms:.1f} ms per offline analysis; "
        f"{dup_seconds / len(rows) * 1000:.1f} ms per duplicate search over up to "
        f"{len(rows) - 1} earlier insights"
    )
    big = [(k, rows[k % len(rows)]["text"] + f" {k}") for k in range(1000)]
    start = time.perf_counter()
    similar(rows[0]["text"], big)
    cold = time.perf_counter() - start
    # The usual case: the earlier insights were compared before, their counts are kept.
    start = time.perf_counter()
    similar(rows[1]["text"], big)
    warm = time.perf_counter() - start
    print(
        f"      {cold * 1000:.0f} ms for one duplicate search over 1000 earlier insights "
        f"never seen before, {warm * 1000:.1f} ms once they were"
    )


if __name__ == "__main__":
    main()
