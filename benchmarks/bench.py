"""Benchmark: kzcopyright's python and durable backends against CLIPS (clipspy), same rules.

    python benchmarks/bench.py [--sizes 50,500,5000] [--cases 100] [--reps 3]

Generates synthetic, legal-like rule bases of R rules in the project's YAML (single-fact tests
with numeric thresholds, two-fact joins on a subject, an exception per chain, chains of depth
4 ending in an action; for large R most rules test predicates absent from a case), the same
rule base as a CLIPS program, and random cases of 15 facts. Before timing, every engine must
derive the same conclusions on 200 cases. Prints one table; figures are medians of --reps
repetitions in this process, with ratios to CLIPS from the same run. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
N_SUBJECTS = 5
PREDS_PER_CASE = 3
CASE_PREDICATES = 30  # cases only use the first 30 input predicates


def chains_for(r: int) -> int:
    return max(1, r // 5)


def n_inputs(r: int) -> int:
    # three input predicates a chain, none shared: a case (on the first 30) touches the same
    # 10 chains at every R, and the other rules test predicates it does not have
    return max(CASE_PREDICATES, 3 * chains_for(r))


def make_kb(root: Path, r: int) -> Path:
    kb = root / "kb"
    (kb / "vocabulary").mkdir(parents=True)
    (kb / "articles").mkdir()
    (kb / "parameters").mkdir()
    (kb / "meta.yaml").write_text("name: bench\nencoded_up_to: 2026-01-01\n")
    (kb / "acts.yaml").write_text("acts:\n  bench: {title: {en: Bench act}, source: generated}\n")
    (kb / "articles" / "bench.yaml").write_text('act: bench\narticles:\n  "1": {title: {en: Bench}, source: generated}\n')
    types: dict = {"case": {"kind": "entity", "title": "case", "attributes": {"act_date": {"type": "date"}}},
                   "subj": {"kind": "entity", "title": "subject", "attributes": {}}}
    for i in range(n_inputs(r)):
        types[f"in{i}"] = {"kind": "entity", "title": f"in{i}",
                           "attributes": {"s": {"type": "ref", "to": "subj"}, "v": {"type": "number"}}}
    for c in range(chains_for(r)):
        for t, kind in (("l1", "intermediate"), ("l2", "intermediate"), ("l3", "conclusion"), ("x", "intermediate"),
                        ("act", "action")):
            types[f"{t}_{c}"] = {"kind": kind, "title": f"{t}_{c}", "attributes": {"s": {"type": "ref", "to": "subj"}}}
    (kb / "vocabulary" / "types.yaml").write_text(yaml.safe_dump({"types": types}, sort_keys=False))
    return kb


def chain_preds(c: int, r: int) -> tuple[int, int, int, int]:
    return 3 * c, 3 * c + 1, 3 * c + 2, 1 + (c % 7)


def make_rules(root: Path, r: int) -> Path:
    rules = root / "rules"
    rules.mkdir()
    base = {"cite": "bench/1", "excerpt": "generated", "because": "{s}"}
    out = []
    for c in range(chains_for(r)):
        a, b, d, thr = chain_preds(c, r)
        out += [
            dict(base, id=f"bench.l1.c{c}", when=[{f"in{a}": {"s": "$s", "v": {">": thr}}}], then=[{f"l1_{c}": {"s": "$s"}}]),
            dict(base, id=f"bench.l2.c{c}", when=[{f"l1_{c}": {"s": "$s"}}, {f"in{b}": {"s": "$s", "v": "$_v"}}],
                 then=[{f"l2_{c}": {"s": "$s"}}]),
            dict(base, id=f"bench.l3.c{c}", when=[{f"l2_{c}": {"s": "$s"}}], then=[{f"l3_{c}": {"s": "$s"}}]),
            dict(base, id=f"bench.x.c{c}", when=[{f"in{d}": {"s": "$s", "v": {"<": 2}}}], then=[{f"x_{c}": {"s": "$s"}}],
                 defeats=[{"rule": f"bench.l3.c{c}", "match": {"s": "$s"}}]),
            dict(base, id=f"bench.act.c{c}", when=[{f"l3_{c}": {"s": "$s"}}], then=[{f"act_{c}": {"s": "$s"}}]),
        ]
    for i in range(0, len(out), 200):
        (rules / f"r{i // 200:04d}.yaml").write_text(yaml.safe_dump({"rules": out[i:i + 200]}, sort_keys=False))
    return rules


def clips_program(r: int) -> str:
    lines = ["(deftemplate subj (slot key))"]
    for i in range(n_inputs(r)):
        lines.append(f"(deftemplate in{i} (slot s) (slot v))")
    for c in range(chains_for(r)):
        for t in ("l1", "l2", "l3", "x", "act"):
            lines.append(f"(deftemplate {t}_{c} (slot s))")
    for c in range(chains_for(r)):
        a, b, d, thr = chain_preds(c, r)
        lines += [
            f"(defrule l1_{c} (in{a} (s ?s) (v ?v&:(> ?v {thr}))) => (assert (l1_{c} (s ?s))))",
            f"(defrule l2_{c} (l1_{c} (s ?s)) (in{b} (s ?s)) => (assert (l2_{c} (s ?s))))",
            f"(defrule x_{c} (declare (salience 10)) (in{d} (s ?s) (v ?v&:(< ?v 2))) => (assert (x_{c} (s ?s))))",
            f"(defrule l3_{c} (l2_{c} (s ?s)) (not (x_{c} (s ?s))) => (assert (l3_{c} (s ?s))))",
            f"(defrule act_{c} (l3_{c} (s ?s)) => (assert (act_{c} (s ?s))))",
        ]
    return "\n".join(lines)


def make_cases(n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    cases = []
    for k in range(n):
        facts: list[dict] = [{"subj": {"key": f"s{j}"}} for j in range(N_SUBJECTS)]
        i = 0
        for j in range(N_SUBJECTS):
            for p in rnd.sample(range(CASE_PREDICATES), PREDS_PER_CASE):
                facts.append({f"in{p}": {"key": f"f{i}", "s": f"s{j}", "v": rnd.randint(0, 9)}})
                i += 1
        cases.append({"id": f"c{k}", "dates": {"act_date": "2025-01-01"}, "facts": facts})
    return cases


def ours_derived(result) -> set[tuple[str, str]]:
    return {(c.type, str(c.attributes["s"])) for c in result.conclusions if c.status == "holds"}


def clips_run(env, case: dict) -> set[tuple[str, str]]:
    env.reset()
    for f in case["facts"]:
        (t, a), = f.items()
        if t == "subj":
            continue
        env.assert_string(f"({t} (s {a['s']}) (v {a['v']}))")
    env.run()
    out = set()
    for fact in env.facts():
        name = fact.template.name
        if name.startswith(("l1_", "l2_", "l3_", "x_", "act_")):
            out.add((name, str(fact["s"])))
    return out


def current_rss_mb() -> float:
    """Resident memory now, in MiB (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_size(r: int, n_cases: int, reps: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from kzcopyright.engine.reasoning.durable_backend import durable_available
    from kzcopyright.engine.errors import InputError
    from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase

    import clips

    root = Path(tempfile.mkdtemp(prefix=f"kzbench{r}_"))
    try:
        kb, rules = make_kb(root, r), make_rules(root, r)
        t0 = time.perf_counter()
        rb = load_rulebase(rules, kb)
        load_s = time.perf_counter() - t0
        env = clips.Environment()
        t0 = time.perf_counter()
        for construct in clips_program(r).split("\n"):
            env.build(construct)
        clips_load_s = time.perf_counter() - t0
        check = make_cases(200, 1)
        scen = [load_case(rb, c) for c in check]
        engines = ["python"] + (["durable"] if durable_available() else [])
        durable_note = ""
        rss0 = current_rss_mb()
        t0 = time.perf_counter()
        try:
            if "durable" in engines:
                rb.backend("durable")
        except (InputError, Exception) as exc:  # a limit of durable_rules
            engines.remove("durable")
            durable_note = f"durable: {type(exc).__name__}: {str(exc)[:80]}"
        durable_load_s = time.perf_counter() - t0
        durable_mb = current_rss_mb() - rss0
        mismatches = 0
        for c, s in zip(check, scen):
            want = clips_run(env, c)
            for e in engines:
                if ours_derived(evaluate_case(rb, s, e)) != want:
                    mismatches += 1
        cases = [load_case(rb, c) for c in make_cases(n_cases, 2)]
        raw = make_cases(n_cases, 2)
        row = {"R": r, "rules": len(rb.rules), "mismatches": mismatches, "load_s": load_s,
               "clips_load_s": clips_load_s, "durable_register_s": durable_load_s if "durable" in engines else None,
               "durable_mb": durable_mb if "durable" in engines else None,
               "note": durable_note}
        row["clips"] = n_cases / timed(lambda: [clips_run(env, c) for c in raw], reps)
        for e in engines:
            row[e] = n_cases / timed(lambda e=e: [evaluate_case(rb, s, e) for s in cases], reps)
        row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def cli_fresh_process(reps: int) -> float:
    exe = Path(sys.executable).parent / "kzcopyright"
    cmd = [str(exe), "--rules", str(ROOT / "rules"), "--kb", str(ROOT / "kb"), "analyze", "--example",
           "marketplace-photos"]
    subprocess.run(cmd, capture_output=True, check=True)
    return timed(lambda: subprocess.run(cmd, capture_output=True, check=True), reps)


def batch_throughput(workers: int, n: int) -> float:
    sys.path.insert(0, str(ROOT))
    from kzcopyright.engine.workflows.batch import run_batch

    tmp = Path(tempfile.mkdtemp(prefix="kzbatch"))
    example = yaml.safe_load((ROOT / "kb" / "examples" / "marketplace-photos.yaml").read_text())
    with (tmp / "in.jsonl").open("w") as f:
        for i in range(n):
            d = json.loads(json.dumps(example, default=str))
            d["id"] = f"c{i}"
            d["facts"][3]["use"]["damage_tenge"] = (i * 7919) % 4_000_000
            f.write(json.dumps(d) + "\n")
    s = run_batch(tmp / "in.jsonl", tmp / "out.jsonl", rules=str(ROOT / "rules"), kb=str(ROOT / "kb"),
                  engine="python", workers=workers)
    shutil.rmtree(tmp, ignore_errors=True)
    return s.cases / s.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="50,500,5000")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch-cases", type=int, default=1000)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.cases} cases x {args.reps} reps")
    print()
    print("| R | python c/s | durable c/s | CLIPS c/s | python/CLIPS | durable/CLIPS | load+compile s | "
          "durable register s | durable MiB | CLIPS load s | peak RSS MiB | mismatches |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in [int(x) for x in args.sizes.split(",")]:
        # each size in its own process, so that peak memory is per size
        out = subprocess.run([sys.executable, __file__, "--one", str(r), str(args.cases), str(args.reps)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"| {r} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode} |")
            continue
        row = json.loads(out.stdout)
        d, c = row.get("durable"), row["clips"]
        reg, dmb = row["durable_register_s"], row["durable_mb"]
        print(f"| {r} | {row['python']:.0f} | {f'{d:.0f}' if d else 'n/a'} | {c:.0f} | {row['python'] / c:.2f} | "
              f"{f'{d / c:.2f}' if d else 'n/a'} | {row['load_s']:.2f} | {f'{reg:.2f}' if reg is not None else 'n/a'} | "
              f"{f'{dmb:.0f}' if dmb is not None else 'n/a'} | {row['clips_load_s']:.2f} | {row['peak_rss_mb']:.0f} | {row['mismatches']} |"
              + (f" {row['note']}" if row["note"] else ""))
    print()
    print(f"CLI `kzcopyright analyze --example marketplace-photos`, fresh process, median of 5: "
          f"{cli_fresh_process(5):.2f} s")
    one = batch_throughput(1, args.batch_cases)
    two = batch_throughput(2, args.batch_cases)
    print(f"batch, real rule base, {args.batch_cases} cases: 1 worker {one:.0f} cases/s, 2 workers {two:.0f} cases/s "
          f"({two / one:.2f}x)")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--one":
        print(json.dumps(bench_size(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
