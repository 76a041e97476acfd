"""The table of docs/engine.md §4.9: undetermined conclusions before and after deciding by cases.

    python benchmarks/undetermined.py [--engine python] [--reps 3] [--markdown]

For every bundled example, the docs' examples of deciding by cases and every case of
tests/cases, it evaluates the case twice — plain (three-valued, no constraints, no cases:
what the engine did before issue 13) and in full (constraints and deciding by cases, the
default) — and prints, per case, the number of undetermined conclusions in each, how many the
report shows by default and on how many deciding questions they hang, the cases evaluated by
the search, and the time of each evaluation (the median of --reps runs, in ms). The last rows
give the totals and means.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="python", choices=["python", "durable"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()

    from kzcopyright.engine.reasoning.provenance import REPORTED_KINDS
    from kzcopyright.engine.rulebase import examples_dir, list_examples, load_case, load_rulebase
    from kzcopyright.engine.workflows.casetest import load_case_files

    rb = load_rulebase()
    scenarios = [("kb/examples", load_case(rb, examples_dir() / f"{e}.yaml")) for e in list_examples()]
    for name in ("office-program.yaml", "reprinted-novel.yaml"):
        scenarios.append(("docs/examples", load_case(rb, ROOT / "docs" / "examples" / name)))
    for s in load_case_files(rb, sorted((ROOT / "tests" / "cases").glob("*.yaml"))):
        scenarios.append((Path(s.path).name, s))

    from kzcopyright.engine.rulebase import evaluate_case

    def timed(s, **kw):  # type: ignore[no-untyped-def]
        times, result = [], None
        for _ in range(args.reps):
            t = time.perf_counter()
            result = evaluate_case(rb, s, args.engine, **kw)
            times.append((time.perf_counter() - t) * 1000)
        return result, statistics.median(times)

    rows = []
    for where, s in scenarios:
        plain, ms_plain = timed(s, cases=False, bounded=False)
        full, ms_full = timed(s)
        und_plain = sum(1 for c in plain.conclusions if c.status == "undetermined")
        und_full = sum(1 for c in full.conclusions if c.status == "undetermined")
        shown = sum(1 for c in full.conclusions if c.status == "undetermined" and c.relevant
                    and c.kind in REPORTED_KINDS)
        questions = len(full.open_questions())
        evals = full.trace.cases.evaluations if full.trace.cases else 0
        rows.append((f"{where}: {s.id}", und_plain, und_full, shown, questions, evals, ms_plain, ms_full))
    n = len(rows)
    totals = ("**total**", sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows),
              sum(r[4] for r in rows), sum(r[5] for r in rows), sum(r[6] for r in rows), sum(r[7] for r in rows))
    means = ("**mean per case**", totals[1] / n, totals[2] / n, totals[3] / n, totals[4] / n, totals[5] / n,
             totals[6] / n, totals[7] / n)
    head = ("case", "undetermined before", "after", "shown", "questions", "cases evaluated", "ms before", "ms after")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |")
    for r in rows + [totals, means]:
        cells = [r[0]] + [f"{x:.1f}" if isinstance(x, float) else str(x) for x in r[1:]]
        print(("| " + " | ".join(cells) + " |") if args.markdown else "\t".join(cells))


if __name__ == "__main__":
    main()
