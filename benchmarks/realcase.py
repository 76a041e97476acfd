"""Per-case cost of the real rule base in one process: the bundled example with its damage
varied, each case through the batch worker's path (scenario from the JSON line, evaluate_case,
the compact record, its JSON text).

    python benchmarks/realcase.py [N] [--engine python] [--record compact|full] [--profile] [--dump FILE]

Prints the cases per second and the median milliseconds of each step; ``--profile`` prints a
cProfile of the N cases (sorted by cumulative time); ``--dump`` writes the N records (one JSON
line each), to compare two versions of the code byte for byte.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import time
from pathlib import Path

import yaml

from kzcopyright.engine.errors import Diagnostics
from kzcopyright.engine.language.scenario import scenario_from_data
from kzcopyright.engine.language.yamlio import load_json_line
from kzcopyright.engine.rulebase import evaluate_case, keep_resident, load_rulebase
from kzcopyright.engine.workflows.batch import compact_record

EXAMPLE = Path(__file__).resolve().parent.parent / "kb" / "examples" / "marketplace-photos.yaml"


def lines(n: int) -> list[str]:
    base = json.loads(json.dumps(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")), default=str))
    out = []
    for i in range(n):
        case = json.loads(json.dumps(base))
        case["id"] = f"c{i}"
        for fact in case["facts"]:
            if "use" in fact:
                fact["use"]["damage_tenge"] = 1000 * i
        out.append(json.dumps(case, ensure_ascii=False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--engine", default="python")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--dump")
    ap.add_argument("--record", choices=("compact", "full"), default="compact")
    args = ap.parse_args()
    rb = keep_resident(load_rulebase(), args.engine)
    texts = lines(args.n)
    steps: dict[str, list[float]] = {"load": [], "evaluate_case": [], "record": []}
    records = []

    def run() -> None:
        for i, text in enumerate(texts):
            t0 = time.perf_counter()
            diags = Diagnostics()
            data = load_json_line(text, "in.jsonl", i + 1, diags)
            scenario = scenario_from_data(data, rb.kb, diags, "in.jsonl", f"in.jsonl:{i + 1}")
            t1 = time.perf_counter()
            result = evaluate_case(rb, scenario, args.engine)
            t2 = time.perf_counter()
            doc = compact_record(result, rb.kb) if args.record == "compact" else result.to_json()
            doc["id"] = scenario.id
            records.append(json.dumps(doc, ensure_ascii=False, sort_keys=True))
            t3 = time.perf_counter()
            steps["load"].append(t1 - t0)
            steps["evaluate_case"].append(t2 - t1)
            steps["record"].append(t3 - t2)

    evaluate_case(rb, scenario_from_data(load_json_line(texts[0], "w", 1, Diagnostics()), rb.kb, Diagnostics(),
                                         "w", "w"), args.engine)  # warm-up
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        return
    t = time.perf_counter()
    run()
    total = time.perf_counter() - t
    print(f"{args.n} cases, {args.engine}: {args.n / total:.1f} cases/s; median ms: "
          + ", ".join(f"{k} {statistics.median(v) * 1000:.2f}" for k, v in steps.items()))
    if args.dump:
        Path(args.dump).write_text("\n".join(records) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
