"""Benchmark: kzcopyright's python and durable backends against CLIPS (clipspy), same rules.

    python benchmarks/bench.py [--sizes 50,500,5000] [--cases 200] [--reps 5] [--batch-cases 1000]
    python benchmarks/bench.py --profile 500 [--cases 500]      # where the python backend's time goes

Generates synthetic, legal-like rule bases of R rules in the project's YAML (single-fact tests
with numeric thresholds, two-fact joins on a subject, an exception per chain, chains of depth
4 ending in an action; for large R most rules test predicates absent from a case), the same
rule base as a CLIPS program, and random cases of 15 facts.

The baseline is CLIPS used well: one ``Environment.eval`` per case of
``(progn (reset) (assert ...all facts...) (run) ?*out*)``, every rule's action also appending its
conclusion to the defglobal ``?*out*`` (emptied by ``(reset)``), clipspy's Python error router
deactivated after the program is built. Beside it, labelled "CLIPS as before", the idiom this
benchmark used until 12.2026: ``assert_string`` per fact and every fact read back through
``env.facts()``. Before timing, both CLIPS idioms and both backends must derive the same
conclusions on 200 cases (tests/test_bench_check.py runs that check). The engines are timed in
turn, --reps times; the table gives the median and the range, and ratios pair by pair from
the same run. See docs/performance.md.
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


def clips_program(r: int, collect: bool = False) -> str:
    """The rule base as CLIPS constructs, one a line. With ``collect``, every rule's action also
    appends its conclusion ("type subject ") to the defglobal ``?*out*``, which ``(reset)``
    empties: the conclusions of a case come back as the value of one ``eval``."""
    lines = ["(deftemplate subj (slot key))"]
    if collect:
        lines.append('(defglobal ?*out* = "")')
    for i in range(n_inputs(r)):
        lines.append(f"(deftemplate in{i} (slot s) (slot v))")
    for c in range(chains_for(r)):
        for t in ("l1", "l2", "l3", "x", "act"):
            lines.append(f"(deftemplate {t}_{c} (slot s))")

    def then(t: str) -> str:
        note = f' (bind ?*out* (str-cat ?*out* "{t} " ?s " "))' if collect else ""
        return f"=> (assert ({t} (s ?s))){note})"

    for c in range(chains_for(r)):
        a, b, d, thr = chain_preds(c, r)
        lines += [
            f"(defrule l1_{c} (in{a} (s ?s) (v ?v&:(> ?v {thr}))) {then(f'l1_{c}')}",
            f"(defrule l2_{c} (l1_{c} (s ?s)) (in{b} (s ?s)) {then(f'l2_{c}')}",
            f"(defrule x_{c} (declare (salience 10)) (in{d} (s ?s) (v ?v&:(< ?v 2))) {then(f'x_{c}')}",
            f"(defrule l3_{c} (l2_{c} (s ?s)) (not (x_{c} (s ?s))) {then(f'l3_{c}')}",
            f"(defrule act_{c} (l3_{c} (s ?s)) {then(f'act_{c}')}",
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


# ---- CLIPS, two idioms ------------------------------------------------------------------------


def clips_env(r: int, collect: bool):
    """A CLIPS environment with the rule base built; with ``collect`` (CLIPS used well), clipspy's
    Python error router is deactivated once the program is built. That router has the highest
    priority, so CLIPS asks it (a call from C into Python) about every character it reads from a
    string source, i.e. while parsing every ``eval``/``assert_string``; it only exists to put
    CLIPS's error text into ``CLIPSError`` messages, which a program that is known to build does
    not need (an error still raises CLIPSError, without the text)."""
    import clips

    env = clips.Environment()
    for construct in clips_program(r, collect).split("\n"):
        env.build(construct)
    if collect:
        for router in env.routers():
            if router.name == "python-error-router":
                router.deactivate()
    return env


def clips_command(case: dict) -> str:
    """One case as one CLIPS expression: reset (which empties ?*out*), assert all its facts in one
    call, run, and return the conclusions collected by the rules' actions."""
    facts = []
    for f in case["facts"]:
        (t, a), = f.items()
        facts.append(f"(subj (key {a['key']}))" if t == "subj" else f"({t} (s {a['s']}) (v {a['v']}))")
    return f"(progn (reset) (assert {' '.join(facts)}) (run) ?*out*)"


def clips_fast_run(env, command: str) -> str:
    """CLIPS used well: one eval per case; the value is the conclusions, "type subject " each."""
    return env.eval(command)


def clips_fast_derived(out: str) -> set[tuple[str, str]]:
    words = out.split()
    return set(zip(words[0::2], words[1::2]))


def clips_run(env, case: dict) -> set[tuple[str, str]]:
    """CLIPS as bench.py drove it until 12.2026 (kept as the second column): assert_string per
    fact through the Python error router, then every fact read back through env.facts()."""
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


# ---- correctness ------------------------------------------------------------------------------


def agreement(rb, engines: list[str], fast_env, old_env, cases: list[dict]) -> dict:
    """Every engine's conclusions that hold against CLIPS used well, case by case.

    Returns the number of disagreeing cases per engine ("clips_old" is CLIPS as before), the
    number of conclusions of each kind (l1, l2, l3, x, act) CLIPS used well derived, and how
    many times an exception defeated a chain (l2 and x on a subject, so no l3), so that a
    check which agrees only because nothing was derived can be told apart."""
    from kzcopyright.engine.rulebase import evaluate_case, load_case

    mismatches = dict.fromkeys(["clips_old", *engines], 0)
    kinds: dict[str, int] = {}
    defeats = 0
    for case in cases:
        want = clips_fast_derived(clips_fast_run(fast_env, clips_command(case)))
        got = {"clips_old": clips_run(old_env, case)}
        scenario = load_case(rb, case)
        for e in engines:
            got[e] = ours_derived(evaluate_case(rb, scenario, e))
        for name, derived in got.items():
            mismatches[name] += derived != want
        for t, s in want:
            kind = t.split("_")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "l2" and ("x_" + t[3:], s) in want:
                defeats += 1
    return {"mismatches": mismatches, "kinds": kinds, "defeats": defeats}


# ---- timing -----------------------------------------------------------------------------------


def current_rss_mb() -> float:
    """Resident memory now, in MiB (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def interleaved(fns: dict, n: int, reps: int, min_seconds: float = 0.25) -> dict[str, list[float]]:
    """Cases per second of each function (one call evaluates all n cases), --reps times in turn
    (A B C A B C ...), so that the machine's drift during a run touches every engine alike. A
    repetition calls its function again until min_seconds have passed (CLIPS used well runs
    200 cases in about 10 ms, too short to time alone on a shared machine)."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            calls, t = 0, time.perf_counter()
            while True:
                fn()
                calls += 1
                elapsed = time.perf_counter() - t
                if elapsed >= min_seconds:
                    break
            out[name].append(calls * n / elapsed)
    return out


def timed(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def load_size(r: int, root: Path):
    sys.path.insert(0, str(ROOT))
    from kzcopyright.engine.rulebase import keep_resident, load_rulebase

    kb, rules = make_kb(root, r), make_rules(root, r)
    # a generated rule base in a temporary folder is loaded once: no entry in the user's cache of
    # compiled rule bases (engine/rbcache.py), which would only push out the real one's
    was = os.environ.get("KZCOPYRIGHT_CACHE")
    os.environ["KZCOPYRIGHT_CACHE"] = "off"
    try:
        t0 = time.perf_counter()
        rb = keep_resident(load_rulebase(rules, kb))
        return rb, time.perf_counter() - t0
    finally:
        if was is None:
            del os.environ["KZCOPYRIGHT_CACHE"]
        else:
            os.environ["KZCOPYRIGHT_CACHE"] = was


def check_size(r: int, n_cases: int, seed: int = 1) -> dict:
    """The correctness check alone (tests/test_bench_check.py): :func:`agreement` on n_cases
    cases of the R-rule base, every engine that loads here."""
    from kzcopyright.engine.reasoning.durable_backend import durable_available

    root = Path(tempfile.mkdtemp(prefix=f"kzcheck{r}_"))
    try:
        rb, _ = load_size(r, root)
        engines = ["python"] + (["durable"] if durable_available() else [])
        return agreement(rb, engines, clips_env(r, collect=True), clips_env(r, collect=False),
                         make_cases(n_cases, seed))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_size(r: int, n_cases: int, reps: int, n_check: int = 200) -> dict:
    sys.path.insert(0, str(ROOT))
    from kzcopyright.engine.reasoning.durable_backend import durable_available
    from kzcopyright.engine.rulebase import evaluate_case, keep_resident, load_case

    root = Path(tempfile.mkdtemp(prefix=f"kzbench{r}_"))
    try:
        rb, load_s = load_size(r, root)
        t0 = time.perf_counter()
        fast_env = clips_env(r, collect=True)
        clips_load_s = time.perf_counter() - t0
        old_env = clips_env(r, collect=False)
        engines = ["python"] + (["durable"] if durable_available() else [])
        durable_note = ""
        rss0 = current_rss_mb()
        t0 = time.perf_counter()
        try:
            if "durable" in engines:
                keep_resident(rb, "durable")
        except Exception as exc:  # a limit of durable_rules
            engines.remove("durable")
            durable_note = f"durable: {type(exc).__name__}: {str(exc)[:80]}"
        durable_load_s = time.perf_counter() - t0
        durable_mb = current_rss_mb() - rss0
        check = agreement(rb, engines, fast_env, old_env, make_cases(n_check, 1))
        raw = make_cases(n_cases, 2)
        # input conversion is outside the timing on every side: load_case for our engines,
        # the expression string for CLIPS used well (CLIPS as before builds its strings inside,
        # as it always did). CLIPS parses that string inside eval; load_case costs about as much
        # as evaluation, so the column "python incl. load_case" shows that figure too.
        cases = [load_case(rb, c) for c in raw]
        commands = [clips_command(c) for c in raw]
        fns = {"clips": lambda: [clips_fast_run(fast_env, c) for c in commands],
               "clips_old": lambda: [clips_run(old_env, c) for c in raw]}
        for e in engines:
            fns[e] = lambda e=e: [evaluate_case(rb, s, e) for s in cases]
        # and the python backend from the case mapping, load_case (checking) included
        fns["python_dict"] = lambda: [evaluate_case(rb, load_case(rb, c), "python") for c in raw]
        fns["python"]()  # warm-up (the result builder's caches, durable's first sessions)
        if "durable" in engines:
            fns["durable"]()
        rates = interleaved(fns, n_cases, reps)
        return {"R": r, "rules": len(rb.rules), "check_cases": n_check, **check, "load_s": load_s,
                "clips_load_s": clips_load_s,
                "durable_register_s": durable_load_s if "durable" in engines else None,
                "durable_mb": durable_mb if "durable" in engines else None, "note": durable_note,
                "rates": rates, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def profile_size(r: int, n_cases: int, top: int = 30) -> None:
    """cProfile of the python backend on n_cases cases of the R-rule base (after a warm-up)."""
    import cProfile
    import pstats

    from kzcopyright.engine.rulebase import evaluate_case, load_case

    root = Path(tempfile.mkdtemp(prefix=f"kzprof{r}_"))
    try:
        rb, _ = load_size(r, root)
        cases = [load_case(rb, c) for c in make_cases(n_cases, 2)]
        for s in cases[:20]:
            evaluate_case(rb, s, "python")
        prof = cProfile.Profile()
        prof.enable()
        for s in cases:
            evaluate_case(rb, s, "python")
        prof.disable()
        stats = pstats.Stats(prof, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
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
                  engine="python", workers=workers, record="compact")
    shutil.rmtree(tmp, ignore_errors=True)
    return s.cases / s.seconds


def _cell(values: list[float] | None, fmt: str = ".0f") -> str:
    """Median (min–max) of a list of figures."""
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:{fmt}}"
    return f"{med:{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def _ratios(a: list[float] | None, b: list[float]) -> list[float] | None:
    # pair by pair: repetition i of A against repetition i of B, measured next to each other
    return [x / y for x, y in zip(a, b)] if a else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="50,500,5000")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch-cases", type=int, default=1000, help="0 skips the CLI and batch figures")
    ap.add_argument("--profile", type=int, metavar="R",
                    help="instead of the benchmark: cProfile of the python backend on --cases cases of R rules")
    args = ap.parse_args()
    if args.profile:
        profile_size(args.profile, args.cases)
        return
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"Python {sys.version.split()[0]}; {args.cases} cases x {args.reps} reps, interleaved; "
          f"median (min–max) over the reps; ratios pair by pair")
    print()
    print("| R | python c/s | durable c/s | CLIPS used well c/s | CLIPS as before c/s | python / CLIPS used well | "
          "durable / CLIPS used well | python / CLIPS as before | python incl. load_case c/s | mismatches |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for r in [int(x) for x in args.sizes.split(",")]:
        # each size in its own process, so that peak memory is per size
        out = subprocess.run([sys.executable, __file__, "--one", str(r), str(args.cases), str(args.reps)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            err = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode
            print(f"| {r} | failed: {err} |")
            continue
        row = json.loads(out.stdout)
        rows.append(row)
        rt = row["rates"]
        well, py, du = rt["clips"], rt["python"], rt.get("durable")
        bad = sum(row["mismatches"].values())
        print(f"| {r} | {_cell(py)} | {_cell(du)} | {_cell(well)} | {_cell(rt['clips_old'])} | "
              f"{_cell(_ratios(py, well), '.3f')} | {_cell(_ratios(du, well), '.3f')} | "
              f"{_cell(_ratios(py, rt['clips_old']), '.2f')} | {_cell(rt['python_dict'])} | "
              f"{bad} of {row['check_cases']} cases |"
              + (f" {row['note']}" if row["note"] else ""))
    print()
    print("| R | rules | load+compile s | durable register s | durable MiB | CLIPS build s | peak RSS MiB | "
          "check: derived l1/l2/x/l3/act, defeats |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        reg, dmb, k = row["durable_register_s"], row["durable_mb"], row["kinds"]
        print(f"| {row['R']} | {row['rules']} | {row['load_s']:.2f} | {f'{reg:.2f}' if reg is not None else 'n/a'} | "
              f"{f'{dmb:.0f}' if dmb is not None else 'n/a'} | {row['clips_load_s']:.2f} | {row['peak_rss_mb']:.0f} | "
              f"{'/'.join(str(k.get(x, 0)) for x in ('l1', 'l2', 'x', 'l3', 'act'))}, {row['defeats']} |")
    if args.batch_cases <= 0:
        return
    print()
    print(f"CLI `kzcopyright analyze --example marketplace-photos`, fresh process, median of 5: "
          f"{cli_fresh_process(5):.2f} s")
    one = batch_throughput(1, args.batch_cases)
    two = batch_throughput(2, args.batch_cases)
    print(f"batch --record compact, real rule base, {args.batch_cases} cases, damage varied: 1 worker {one:.0f} cases/s, "
          f"2 workers {two:.0f} cases/s ({two / one:.2f}x)")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--one":
        print(json.dumps(bench_size(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
