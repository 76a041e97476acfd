"""Consultation (scripted, through click, and in a real terminal) and batch evaluation."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import kzcopyright
from kzcopyright.cli.main import cli
from kzcopyright.engine.rulebase import evaluate_case, load_case

from .conftest import KB, RULES

BASE = ["--rules", str(RULES), "--kb", str(KB)]
EXAMPLE = yaml.safe_load((KB / "examples" / "marketplace-photos.yaml").read_text())


def _answers_from_example() -> dict[str, object]:
    """The example's facts, as answers keyed by the skeleton's fact ids."""
    keymap = {"person": "person:author", "work": "work:work", "party": "party:user", "use": "use:use"}
    out: dict[str, object] = {}
    for item in EXAMPLE["facts"]:
        (t, attrs), = item.items()
        for k, v in attrs.items():
            if k in ("key", "work", "user", "author"):
                continue
            out[f"{keymap[t]}.{k}"] = ", ".join(v) if isinstance(v, list) else v
    for k, v in EXAMPLE["dates"].items():
        out[f"case:case.{k}"] = str(v)
    out["case:case.perspective"] = EXAMPLE["perspective"]
    # who is who: the names the interview asks first, so that the report speaks of the photos
    for t, fid in keymap.items():
        out[f"{fid}.name"] = next(next(iter(f.values()))["key"] for f in EXAMPLE["facts"] if next(iter(f)) == t)
    return out


def _relevant_fact_count() -> int:
    return sum(len([k for k in next(iter(f.values())) if k != "key"]) for f in EXAMPLE["facts"]) + len(EXAMPLE["dates"])


def test_consult_replay_reaches_the_marketplace_analysis(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(_answers_from_example(), allow_unicode=True))
    saved = tmp_path / "saved.yaml"
    res = CliRunner().invoke(cli, BASE + ["consult", "--answers", str(answers), "--save", str(saved),
                                          "--engine", "python"])
    assert res.exit_code == 0, res.output
    asked = res.stdout.count("\nQuestion ")
    assert 0 < asked <= _relevant_fact_count() + 4  # the four names first
    assert res.stdout.count("who is who") == 4
    assert "Consultation complete" in res.stdout
    # the report speaks of the names given, never of the skeleton's placeholders
    report = res.stdout[res.stdout.index("Consultation complete"):]
    assert "the protected work photos" in report and "work work" not in report and "use:use" not in report
    # the saved case is a valid case file and gives the example's conclusions
    rb = kzcopyright.load_rulebase(RULES, KB)
    r = evaluate_case(rb, load_case(rb, saved), "python")
    assert r.status_of("infringement", use="listing", work="photos") == "holds"
    assert r.status_of("compensation") == "holds"
    # the seller is a legal entity: no criminal liability of its own; its unnamed officer's is undetermined
    assert r.find("criminal_liability") == []
    assert {c.status for c in r.find("officer_liability")} == {"undetermined"}
    assert [u.attribute for u in r.undetermined] == ["acted_by", "damage_tenge", "intent"]


def test_consult_session_api_back_and_unknown():
    s = kzcopyright.consult(rules=RULES, kb=KB, engine="python")
    # who is who, then the side and the dates, then the most decisive
    order = [q.id for q in s.candidates()]
    assert order[:9] == ["work:work.name", "party:user.name", "person:author.name", "use:use.name",
                         "case:case.perspective", "case:case.act_date", "case:case.learned_date",
                         "case:case.assessment_date", "party:user.kind"]
    for _ in range(4):
        s.answer("unknown")
    for _ in range(4):
        s.answer("unknown")
    s.answer("unknown")
    q1 = s.next_question()
    assert q1.id == "work:work.kind" and ("photograph", q1.choices[9][1]) == q1.choices[9]
    assert any("Art." in w or "/" in w for w in q1.why)
    s.answer("photograph")
    q2 = s.next_question()
    assert q2.id != q1.id
    assert s.back()
    assert s.next_question().id == q1.id  # the revised question comes back
    s.answer("10")  # choices can be given by number
    assert s.scenario.fact("work:work").get("kind") == "photograph"
    q = s.next_question()
    s.answer("unknown")
    assert s.next_question().id != q.id  # not asked again
    with pytest.raises(kzcopyright.InputError):
        s.answer("maybe", s.next_question()) if s.next_question().type == "bool" else s.answer("photogrph", q1)


def test_consult_russian_questions(tmp_path):
    answers = tmp_path / "a.yaml"
    answers.write_text("{}\n")
    res = CliRunner().invoke(cli, BASE + ["consult", "--answers", str(answers), "--lang", "ru", "--engine", "python"])
    assert res.exit_code == 0, res.output
    assert "Что это за произведение?" in res.stdout


class _Tmux:
    """A real terminal: the program runs in a tmux pane, keys are typed with send-keys and the
    screen is read with capture-pane (the pane stays open after the program ends)."""

    def __init__(self, tmp_path: Path, args: str, name: str):
        exe = Path(sys.executable).parent / "kzcopyright"
        session = f"kzc{os.getpid()}{name}"
        cmd = f"{exe} --rules {RULES} --kb {KB} consult --engine python {args}"
        # a long scrollback, set before the program's window is made: the final report is long
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "50", "sleep 300"], check=True)
        subprocess.run(["tmux", "set-option", "-t", session, "history-limit", "100000"], check=True)
        subprocess.run(["tmux", "new-window", "-t", session, "-n", "kz",
                        f"sh -c 'trap true INT; {cmd}; echo KZ-EXIT=$?; sleep 120'"], check=True)
        self.name = session
        self.session = f"{session}:kz"

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session, "-S", "-", "-J"],
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 30, after: int = 0) -> str:
        end = time.time() + timeout
        while time.time() < end:
            out = self.screen()
            if text in out[after:]:
                return out
            time.sleep(0.1)
        raise AssertionError(f"'{text}' not on screen:\n{self.screen()[-3000:]}")

    def type(self, *keys: str) -> None:
        for k in keys:
            if k in ("C-c", "C-d", "Enter"):
                subprocess.run(["tmux", "send-keys", "-t", self.session, k], check=True)
            else:
                subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", k], check=True)
                subprocess.run(["tmux", "send-keys", "-t", self.session, "Enter"], check=True)

    def answer(self, text: str, then: str) -> str:
        """Type an answer once the prompt is there, and wait for what follows it."""
        before = len(self.screen())
        self.type(text)
        return self.wait_for(then, after=max(0, before - 200))

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


@_tmux
def test_consult_in_a_real_terminal(tmp_path):
    saved = tmp_path / "c.yaml"
    t = _Tmux(tmp_path, f"--save {saved}", "a")
    try:
        t.wait_for("What do you call the work")
        t.answer("photos", "What do you call the one who used the work")
        t.answer("the seller", "What do you call the author")
        t.answer("", "What do you call the use")  # Enter: a readable name is chosen
        t.answer("the listing", "Whose side are you on?")
        out = t.answer("1", "On what date was the work used")  # a choice by its number
        t.answer("2021-06-15", "learned")
        t.answer("2021-07-01", "As of which date")
        t.answer("2021-08-01", "Who is the user")
        t.answer("3", "What kind of work is it?")  # a legal entity
        out = t.answer("?", "Why this question")  # why it is asked, with the articles
        assert "copyright_law/" in out.split("Why this question")[-1]
        t.answer("photograph", "Question 11")
        out = t.answer("back", "(last answer withdrawn)")
        t.answer("10", "Question 11")
        # on to the list question of what was done (answered by choice numbers) and the purpose
        acts = purpose = False
        for _ in range(25):
            t.wait_for("answer (", after=len(t.screen()) - 300)
            last = t.screen().split("\nQuestion")[-1]
            if "What was done with the work?" in last:
                t.answer("1, 11", "now:")
                acts = True
            elif "For what purpose was the work used?" in last:
                out = t.answer("2", "now:")  # commercial: whether the use was commercial is not asked
                purpose = True
            else:
                t.answer("yes" if "(yes/no;" in last else "", "now:")
            if acts and purpose:
                break
        assert acts and purpose
        assert "(so use:use.commercial = True: not asked)" in t.screen()
        out = t.answer("done", "KZ-EXIT=0")
        assert "Ended early after" in out
        report = out[out.index("Ended early"):]
        assert "photos" in report and "the seller" in report
        assert "work work" not in report and "use:use" not in report and "party:user" not in report
        t.wait_for("saved the case")
        data = yaml.safe_load(saved.read_text())
        keys = {next(iter(f)): next(iter(f.values()))["key"] for f in data["facts"]}
        assert keys == {"person": "the author", "work": "photos", "party": "the seller", "use": "the listing"}
        use = next(f["use"] for f in data["facts"] if "use" in f)
        assert use["acts"] == ["making_available", "reproduction"] and use["commercial"] is True
        assert use["work"] == "photos" and use["user"] == "the seller"
    finally:
        t.close()


@_tmux
@pytest.mark.parametrize("key,why", [("C-d", "end of input"), ("C-c", "interrupted"), ("q", "q")])
def test_consult_keeps_the_answers_on_eof_interrupt_and_q(tmp_path, key, why):
    saved = tmp_path / "c.yaml"
    t = _Tmux(tmp_path, f"--save {saved}", key[-1])
    try:
        t.wait_for("What do you call the work")
        t.answer("photos", "What do you call the one who used the work")
        t.answer("the seller", "What do you call the author")
        t.answer("the photographer", "What do you call the use")
        t.answer("the listing", "Whose side are you on?")
        t.answer("1", "On what date was the work used")
        t.wait_for("answer (")
        if key == "q":
            t.type("q")
        else:
            subprocess.run(["tmux", "send-keys", "-t", t.session, key], check=True)
        out = t.wait_for("KZ-EXIT=0")
        assert f"Stopped after 5 questions ({why}); what was answered is kept" in out
        assert "Summary" in out.split("Stopped after")[-1]  # the analysis so far
        t.wait_for("saved the case")
        data = yaml.safe_load(saved.read_text())
        assert data["perspective"] == "rights_holder"
        assert {next(iter(f.values()))["key"] for f in data["facts"]} == {
            "photos", "the seller", "the photographer", "the listing"}
    finally:
        t.close()


def test_consult_done_and_implied_answers_through_click(tmp_path):
    # '.' ends early with the answer; a list question takes choice numbers; purpose settles commercial
    answers = "photos\nthe seller\n\n\n1\n2021-06-15\n2021-07-01\n2021-08-01\n3\n10\n"
    res = CliRunner().invoke(cli, BASE + ["consult", "--engine", "python"], input=answers + "\n" * 3 + ".\n")
    assert res.exit_code == 0, res.output
    assert "Ended early after" in res.output
    report = res.output[res.output.index("Ended early after"):]
    assert "photos" in report and "work work" not in report  # the work was named
    res = CliRunner().invoke(cli, BASE + ["consult", "--example", "marketplace-photos", "--engine", "python"],
                             input="")  # end of input at once: the analysis of what is known
    assert res.exit_code == 0 and "Stopped after 0 questions (end of input)" in res.output
    assert "Summary" in res.output


# ---- batch --------------------------------------------------------------------------------------

def _write_jsonl(path: Path, n: int, broken_every: int = 50) -> tuple[int, int]:
    base = json.loads(json.dumps(EXAMPLE, default=str))
    good = bad = 0
    with path.open("w") as f:
        for i in range(n):
            d = json.loads(json.dumps(base))
            d["id"] = f"c{i:05d}"
            d["facts"][3]["use"]["damage_tenge"] = [None, 100_000, 583_400, 3_000_000][i % 4]
            if broken_every and i % broken_every == 7:
                d["facts"][3]["use"]["consnt"] = True
                bad += 1
            elif broken_every and i % broken_every == 13:
                f.write('{"id": "oops", \n')
                bad += 1
                continue
            else:
                good += 1
            f.write(json.dumps(d) + "\n")
    return good, bad


def test_batch_many_cases_nothing_lost(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good, bad = _write_jsonl(inp, 500)
    res = CliRunner().invoke(cli, BASE + ["batch", str(inp), "-o", str(out), "--workers", "2", "--engine", "python"])
    assert res.exit_code == 1  # some cases were broken
    lines = out.read_text().splitlines()
    assert len(lines) == good + bad == 500
    recs = [json.loads(x) for x in lines]
    errors = [r for r in recs if "error" in r]
    assert len(errors) == bad
    assert any("consnt" in e["error"]["message"] and "did you mean 'consent'" in e["error"]["message"] for e in errors)
    assert any("invalid JSON" in e["error"]["message"] for e in errors)
    ok = [r for r in recs if "error" not in r]
    assert [r["id"] for r in ok] == sorted(r["id"] for r in ok)  # input order
    by_damage = {r["id"]: {c["attributes"]["part"] for c in r["conclusions"]
                           if c["type"] == "art198_part" and c["status"] == "holds"} for r in ok}
    assert by_damage["c00002"] == {"2"} and by_damage["c00003"] == {"3"} and by_damage["c00001"] == {"1"}
    assert "500 cases" in res.output and f"{bad} errors" in res.output


def test_batch_resume_and_atomic(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_jsonl(inp, 30, broken_every=0)
    r1 = kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=1)
    assert r1.cases == 30 and r1.errors == 0
    before = out.read_text()
    r2 = kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=1, resume=True)
    assert r2.skipped == 30 and out.read_text() == before
    # a directory of case files works too
    d = tmp_path / "cases"
    d.mkdir()
    (d / "a.yaml").write_text(yaml.safe_dump(dict(EXAMPLE, id="a"), allow_unicode=True))
    (d / "b.yaml").write_text("id: b\nfacts: [ {work: {key: w, kind: fotograph}} ]\n")
    s = kzcopyright.batch(d, tmp_path / "d.jsonl", rules=RULES, kb=KB, engine="python", workers=1)
    assert s.cases == 2 and s.errors == 1
    recs = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert recs[0]["id"] == "a" and "did you mean 'photograph'" in recs[1]["error"]["message"]


@pytest.mark.parametrize("fault", ["hang", "crash"])
@pytest.mark.parametrize("n,bad,timeout", [(12, 4, 5), (40, 17, 1)])
def test_batch_survives_a_hanging_or_crashing_worker(tmp_path, monkeypatch, fault, n, bad, timeout):
    # 12 cases on 2 workers go one a task; 40 go 5 a task, so the task holding the bad case
    # times out, its cases are run again one a task, and only the bad case gets an error record
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_jsonl(inp, n, broken_every=0)
    monkeypatch.setenv("KZCOPYRIGHT_FAULT", f"{fault}:c{bad:05d}")
    s = kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=2, timeout=timeout)
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == [f"c{i:05d}" for i in range(n)]
    assert s.errors == 1 and "did not finish" in recs[bad]["error"]["message"]
    assert all("error" not in r for i, r in enumerate(recs) if i != bad)


def test_batch_output_with_few_open_spool_files(tmp_path, monkeypatch):
    # the output is assembled from the workers' spool files with at most MAX_OPEN_SPOOL open
    from kzcopyright.engine.workflows import batch as batch_mod

    inp = tmp_path / "in.jsonl"
    _write_jsonl(inp, 30, broken_every=0)
    kzcopyright.batch(inp, tmp_path / "a.jsonl", rules=RULES, kb=KB, engine="python", workers=2)
    monkeypatch.setattr(batch_mod, "MAX_OPEN_SPOOL", 1)
    kzcopyright.batch(inp, tmp_path / "b.jsonl", rules=RULES, kb=KB, engine="python", workers=2)
    a, b = (tmp_path / "a.jsonl").read_text(), (tmp_path / "b.jsonl").read_text()
    assert a == b and len(a.splitlines()) == 30
    assert [json.loads(x)["id"] for x in a.splitlines()] == [f"c{i:05d}" for i in range(30)]
    assert not list(tmp_path.glob(".*spool*"))  # the spool folder is gone


def _small_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    (d / "a.yaml").write_text(yaml.safe_dump(dict(EXAMPLE, id="a"), allow_unicode=True))
    big = json.loads(json.dumps(EXAMPLE, default=str))
    big["id"] = "b"
    big["facts"][3]["use"]["damage_tenge"] = 3_000_000
    (d / "b.yaml").write_text(yaml.safe_dump(big, allow_unicode=True))
    (d / "c.yaml").write_text("id: c\nfacts: [ {work: {key: w, kind: fotograph}} ]\n")
    return d


def test_batch_compact_records_and_the_summary(tmp_path):
    d, out = _small_dir(tmp_path), tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, BASE + ["batch", str(d), "-o", str(out), "--record", "compact", "--workers", "1",
                                          "--engine", "python"])
    assert res.exit_code == 1  # one case failed
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    full = kzcopyright.analyze(dict(EXAMPLE, id="a"), rules=RULES, kb=KB, engine="python").to_json()
    a = recs[0]
    assert a["record"] == "compact" and a["id"] == "a" and a["rulebase"]["fingerprint"] == full["rulebase"]["fingerprint"]
    assert {"type": "infringement", "status": "holds", "attributes": {"use": "listing", "work": "photos"}} in \
        a["conclusions"]
    assert {"type": "compensation", "status": "holds", "name": "min_tenge", "tenge": 291700} in a["amounts"]
    assert any(x["type"] == "civil_claim_deadline" and x["date"] == "2024-07-01" for x in a["deadlines"])
    assert not any(c["type"] == "damage_in_mci" for c in a["conclusions"])  # intermediate types are left out
    assert len(out.read_text()) < len(json.dumps(full)) / 5  # small
    # the summary: cases per conclusion type, by status, and the failed case with its error line
    err = res.stderr
    assert "3 cases, 1 errors" in err
    assert "2 of 2  infringement — Exclusive rights were infringed: 2 holds" in err
    assert "art198_part" in err and "1 holds" in err
    assert "Failed cases (1):" in err and "c.yaml:2:32:" in err and "did you mean 'photograph'" in err
    # resume keeps compact records only for a compact run
    again = kzcopyright.batch(d, out, rules=RULES, kb=KB, engine="python", workers=1, resume=True, record="compact")
    assert again.skipped == 2


def test_batch_summary_only(tmp_path):
    d = _small_dir(tmp_path)
    res = CliRunner().invoke(cli, BASE + ["batch", str(d), "--summary-only", "--workers", "1", "--engine", "python"])
    assert res.exit_code == 1
    assert res.stdout.startswith("3 cases, 1 errors")
    assert "2 of 2  protected_work" in res.stdout
    assert not list(tmp_path.glob("*.jsonl")) and not list(Path.cwd().glob(".kzcopyright-summary-*"))
    out = tmp_path / "summary.json"
    res = CliRunner().invoke(cli, BASE + ["batch", str(d), "--summary-only", "-o", str(out), "--workers", "1",
                                          "--engine", "python"])
    doc = json.loads(out.read_text())
    assert doc["cases"] == 3 and doc["errors"] == 1 and doc["types"]["infringement"] == {"holds": 2, "reached": 2}
    assert doc["failed"][0]["id"].endswith("c.yaml")
    res = CliRunner().invoke(cli, BASE + ["batch", str(d), "--workers", "1"])
    assert res.exit_code == 2 and "--summary-only" in res.output


def test_batch_summary_counts_the_rules_and_articles_the_caseload_applied(tmp_path):
    """The summary's coverage: which rules and articles the cases exercised, the same from full
    and compact records, and the same again when --resume reads them back (issue 17)."""
    d = _small_dir(tmp_path)
    docs = {}
    for record in ("full", "compact"):
        out = tmp_path / f"{record}.json"
        res = CliRunner().invoke(cli, BASE + ["batch", str(d), "--summary-only", "-o", str(out), "--workers", "1",
                                              "--engine", "python", "--record", record])
        assert res.exit_code == 1, res.output
        docs[record] = json.loads(out.read_text())["coverage"]
    cov = docs["full"]
    assert cov == docs["compact"]
    assert cov["rules"]["copyright_law.16.2.reproduction"] == 2  # both good cases applied it
    assert cov["articles"]["copyright_law/16"] == 2
    rb = kzcopyright.load_rulebase(RULES, KB)
    ids = {r.id for r in rb.rules}
    assert set(cov["rules"]) | set(cov["rules_never_applied"]) == ids and not set(cov["rules"]) & set(cov["rules_never_applied"])
    # the text summary says N of M, and --resume counts the records it keeps
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, BASE + ["batch", str(d), "-o", str(out), "--workers", "1", "--engine", "python",
                                          "--record", "compact"])
    assert f"{len(cov['rules'])} of {len(ids)} rules applied in at least one case" in res.stderr
    again = kzcopyright.batch(d, out, rules=RULES, kb=KB, engine="python", workers=1, resume=True, record="compact")
    assert again.skipped == 2 and again.rules == cov["rules"]


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="the dask extra is not installed")
def test_dask_executor_gives_the_local_pools_bytes(tmp_path):
    """batch --executor dask on a local cluster of 2 workers: byte-identical output to the local
    pool, good and broken lines alike, with full records (issue 17)."""
    from distributed import LocalCluster

    inp = tmp_path / "in.jsonl"
    _write_jsonl(inp, 30, broken_every=20)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        for record in ("full",):
            local, dask = tmp_path / f"local-{record}.jsonl", tmp_path / f"dask-{record}.jsonl"
            args = ["batch", str(inp), "--record", record, "--engine", "python", "--as-of", "2021-08-01"]
            r1 = CliRunner().invoke(cli, BASE + args + ["-o", str(local), "--workers", "2"])
            r2 = CliRunner().invoke(cli, BASE + args + ["-o", str(dask), "--executor", "dask", "--scheduler",
                                                         cluster.scheduler_address, "--partition", "7"])
            assert r1.exit_code == r2.exit_code == 1, (r1.output, r2.output)  # some lines are broken
            assert local.read_bytes() == dask.read_bytes()
            assert len(dask.read_text().splitlines()) == 30
            summary = [line for line in r2.output.splitlines() if "cases" in line and "s)" not in line]
            assert summary == [line for line in r1.output.splitlines() if "cases" in line and "s)" not in line]
    res = CliRunner().invoke(cli, BASE + ["batch", str(inp), "-o", str(tmp_path / "x.jsonl"), "--scheduler", "tcp://x:1"])
    assert res.exit_code == 2 and "--executor dask" in res.output


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="the dask extra is not installed")
def test_dask_scheduler_that_cannot_be_reached_is_a_one_line_error(tmp_path):
    d = _small_dir(tmp_path)
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, BASE + ["batch", str(d), "-o", str(out), "--executor", "dask",
                                          "--scheduler", "nonsense://host"])
    assert res.exit_code == 1
    assert "cannot reach the Dask scheduler nonsense://host" in res.output and "Traceback" not in res.output
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
