"""Issue 19, batch: nothing lost, nothing overwritten, nothing hangs.

Read once (a pipe, a FIFO), resume keyed by line and hash (repeated ids, poisoned lines, the
resumed output byte-identical to an uninterrupted run), a poisoned line costs only itself, a
dead worker is seen at once, Ctrl-C keeps the old output and says how to resume, a killed
run's spool is cleaned, special files in a directory are reported. Processes run here bind
nothing to the network.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

import kzcopyright
from kzcopyright.cli.main import cli

from .conftest import KB, RULES

BASE = ["--rules", str(RULES), "--kb", str(KB)]
EXE = str(Path(sys.executable).parent / "kzcopyright")
EXAMPLE = json.loads(json.dumps(yaml.safe_load((KB / "examples" / "marketplace-photos.yaml").read_text()),
                                default=str))


def _case(ident: str, damage: int | None) -> str:
    d = json.loads(json.dumps(EXAMPLE))
    d["id"] = ident
    if damage is not None:
        d["facts"][3]["use"]["damage_tenge"] = damage
    return json.dumps(d)


def _lines(n: int) -> list[str]:
    return [_case(f"c{i:03d}", [None, 100_000, 583_400, 3_000_000][i % 4]) for i in range(n)]


def _records(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _batch(args: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *BASE, "batch", *args], capture_output=True, text=True, timeout=timeout, **kw)


def _parts(rec: dict) -> set[str]:
    return {c["attributes"]["part"] for c in rec.get("conclusions", [])
            if c["type"] == "art198_part" and c["status"] == "holds"}


# ---- read once -------------------------------------------------------------------------------------

def test_batch_from_a_pipe(tmp_path):
    out = tmp_path / "out.jsonl"
    text = "\n".join(_lines(3)) + "\n"
    res = _batch(["/dev/stdin", "-o", str(out), "--workers", "1", "--engine", "python"], input=text)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in _records(out)] == ["c000", "c001", "c002"]
    assert res.stderr.startswith("3 cases, 0 errors")


def test_batch_from_a_fifo(tmp_path):
    fifo, out = tmp_path / "in.fifo", tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    lines = _lines(5)

    def writer() -> None:
        with open(fifo, "w") as fh:
            for line in lines:
                fh.write(line + "\n")
                fh.flush()
                time.sleep(0.05)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    res = _batch([str(fifo), "-o", str(out), "--workers", "2", "--engine", "python"], timeout=120)
    t.join(10)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in _records(out)] == [f"c{i:03d}" for i in range(5)]


def test_batch_of_dev_zero_is_one_error_and_ends(tmp_path):
    out = tmp_path / "out.jsonl"
    res = _batch(["/dev/zero", "-o", str(out), "--workers", "1", "--engine", "python"], timeout=120)
    assert res.returncode == 1, res.stderr
    (rec,) = _records(out)
    assert "longer than" in rec["error"]["message"] and "was not read" in rec["error"]["message"]


# ---- resume: keyed by line and hash, poisoned lines, byte-identical --------------------------------

POISON = [
    "[" * 100_000 + "]" * 100_000,  # nesting far deeper than any limit
    '{"id": "lone", "title": "\\ud800"}',  # an unpaired surrogate
    '{"id": "digits", "facts": [{"use": {"key": "u", "damage_tenge": ' + "9" * 4301 + "}}]}",
    '{"id": "hugekey", "' + "k" * 1_000_000 + '": 1}',
]


def _poisoned_input(path: Path) -> list[str]:
    lines = _lines(14)
    lines[3] = _case("dup", 100)  # the same id twice, with very different damage
    lines[9] = _case("dup", 30_000_000)
    for k, p in zip((5, 6, 7, 12), POISON):
        lines[k] = p
    lines.insert(11, "")  # a blank line is skipped, not a case
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line.encode() + b"\n")
        fh.write(b'{"id": "latin", "title": "caf\xe9"}\n')  # Latin-1, not UTF-8
    return lines


def test_resume_with_repeated_ids_and_poisoned_lines_is_byte_identical(tmp_path):
    inp, full, part = tmp_path / "in.jsonl", tmp_path / "full.jsonl", tmp_path / "out.jsonl"
    _poisoned_input(inp)
    s = kzcopyright.batch(inp, full, rules=RULES, kb=KB, engine="python", workers=2)
    recs = _records(full)
    assert s.cases == len(recs) == 15 and s.errors == 5
    by_line = {r["line"]: r for r in recs}
    # each poisoned line is one located error; its neighbours (in the same task) are results
    for line, needle in ((6, "nesting deeper than 64 levels"), (7, "unpaired surrogate"),
                         (8, "number longer than 100 characters"), (14, "string longer than 100000"),
                         (16, "not UTF-8 text (byte 0xE9")):
        err = by_line[line]["error"]["message"]
        assert needle in err and re.match(rf"{re.escape(str(inp))}:{line}:\d+: ", err), err
        assert len(json.dumps(by_line[line])) < 10_000  # a 1 MB key gives a small record
    assert sum(1 for r in recs if "error" not in r) == 10
    assert _parts(by_line[4]) == {"1"} or not _parts(by_line[4])  # 100 tenge: no part 3
    assert _parts(by_line[10]) == {"3"}
    assert any("case id 'dup' is also used" in w for w in s.warnings)
    # a partial output: some records missing, one dup's record kept, a junk line that would
    # have made the old reader recurse without end
    keep = [r for r in full.read_text().splitlines(keepends=True)
            if json.loads(r)["line"] in (1, 2, 4, 6, 9)]
    part.write_text("".join(keep) + "[" * 100_000 + "]" * 100_000 + "\n" + "not json\n")
    r2 = kzcopyright.batch(inp, part, rules=RULES, kb=KB, engine="python", workers=2, resume=True)
    assert r2.skipped == 4  # results only: line 6's error record is evaluated again
    assert part.read_bytes() == full.read_bytes()
    # the dup at line 10 did not take the result of the dup at line 4
    assert _parts(_records(part)[9]) == {"3"}


def test_resume_of_an_edited_line_evaluates_it_again(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = _lines(4)
    inp.write_text("\n".join(lines) + "\n")
    kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=1)
    lines[2] = _case("c002", 30_000_000)
    inp.write_text("\n".join(lines) + "\n")
    r = kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=1, resume=True)
    assert r.skipped == 3 and _parts(_records(out)[2]) == {"3"}


# ---- workers that die or hang; Ctrl-C; a killed run -----------------------------------------------

def test_a_dead_worker_is_seen_at_once_and_costs_only_its_case(tmp_path, monkeypatch):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("\n".join(_lines(40)) + "\n")
    monkeypatch.setenv("KZCOPYRIGHT_FAULT", "crash:c021")
    start = time.monotonic()
    s = kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=2, timeout=20)
    took = time.monotonic() - start
    recs = _records(out)
    assert [r["id"] for r in recs] == [f"c{i:03d}" for i in range(40)]
    assert s.errors == 1 and "its worker died (killed by SIGSEGV)" in recs[21]["error"]["message"]
    assert took < 20, took  # not one timeout per case of its task


def test_ctrl_c_keeps_the_old_output_and_says_how_to_resume(tmp_path):
    inp, out, ref = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "ref.jsonl"
    inp.write_text("\n".join(_lines(10)) + "\n")
    out.write_text("the old output\n")
    env = dict(os.environ, KZCOPYRIGHT_FAULT="hang:c006")
    p = subprocess.Popen([EXE, *BASE, "batch", str(inp), "-o", str(out), "--workers", "1", "--engine", "python",
                          "--timeout", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # wait for the cases before the hanging one
            spools = list(tmp_path.glob(".out.jsonl.spool-*/*.jsonl"))
            if spools and sum(1 for f in spools for _ in f.open()) >= 6:
                break
            time.sleep(0.2)
        time.sleep(0.3)
        os.killpg(p.pid, signal.SIGINT)  # as a terminal does: the whole process group
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 1, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert re.search(r"interrupted: 6 of the \d+ cases read were done", err) and "--resume" in err, err
    assert out.read_text() == "the old output\n"
    partial = Path(f"{out}.partial")
    assert len(partial.read_text().splitlines()) == 6
    assert not list(tmp_path.glob(".out.jsonl.spool-*"))
    res = _batch([str(inp), "-o", str(out), "--workers", "1", "--engine", "python", "--resume"])
    assert res.returncode == 0 and "6 skipped" in res.stderr, res.stderr
    kzcopyright.batch(inp, ref, rules=RULES, kb=KB, engine="python", workers=1)
    assert out.read_bytes() == ref.read_bytes()
    assert not partial.exists()


def test_a_killed_runs_spool_is_cleaned_by_the_next_run(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("\n".join(_lines(2)) + "\n")
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f".out.jsonl.spool-{gone.pid}-abc"
    stale.mkdir()
    (stale / "w1.jsonl").write_bytes(b"x" * 1000)
    stale_tmp = tmp_path / f".out.jsonl.tmp{gone.pid}-xyz"
    stale_tmp.write_text("half")
    live = tmp_path / f".out.jsonl.spool-{os.getpid()}-live"  # a run still going: left alone
    live.mkdir()
    kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=1)
    assert not stale.exists() and not stale_tmp.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.jsonl", "out.jsonl", live.name])


# ---- what batch refuses or reports -----------------------------------------------------------------

def test_batch_refuses_to_overwrite_its_input(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(_lines(2)) + "\n")
    before = inp.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(inp.name)
    for target in (inp, link):
        res = CliRunner().invoke(cli, BASE + ["batch", str(inp), "-o", str(target), "--engine", "python"])
        assert res.exit_code == 1 and "it is the input" in res.output, res.output
    assert inp.read_bytes() == before and link.is_symlink()
    res = CliRunner().invoke(cli, BASE + ["batch", str(inp), "-o", "", "--engine", "python"])
    assert res.exit_code == 2 and "needs a file name" in res.output


def test_directory_mode_reports_special_files(tmp_path):
    d, out = tmp_path / "cases", tmp_path / "out.jsonl"
    d.mkdir()
    (d / "a.yaml").write_text(yaml.safe_dump(dict(EXAMPLE, id="a"), allow_unicode=True))
    os.mkfifo(d / "b.yaml")
    (d / "c.yaml").symlink_to(d / "nowhere.yaml")
    (d / "d.json").write_bytes(b'{"id": "caf\xe9"}')
    (d / "e.yaml").symlink_to("/dev/zero")
    res = _batch([str(d), "-o", str(out), "--workers", "1", "--engine", "python"], timeout=120)
    assert res.returncode == 1, res.stderr
    recs = _records(out)
    assert [r.get("file") for r in recs] == ["a.yaml", "b.yaml", "c.yaml", "d.json", "e.yaml"]
    assert recs[0]["id"] == "a" and "error" not in recs[0]
    msgs = [r["error"]["message"] for r in recs[1:]]
    assert "FIFO" in msgs[0] and "broken symbolic link" in msgs[1] and "not UTF-8" in msgs[2]
    assert "character device" in msgs[3]


def test_error_records_are_located_in_the_input(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    d = json.loads(_case("typo", None))
    d["facts"][3]["use"]["consnt"] = True
    inp.write_text(_case("ok", None) + "\n\n" + json.dumps(d) + "\n")
    kzcopyright.batch(inp, out, rules=RULES, kb=KB, engine="python", workers=1)
    rec = _records(out)[1]
    (diag,) = rec["error"]["diagnostics"]
    assert re.fullmatch(rf"{re.escape(str(inp))}:3:\d+", diag["location"]) and "<case>" not in json.dumps(rec)
    col = int(diag["location"].rsplit(":", 1)[1])
    assert json.dumps(d)[col - 1:].startswith('"consnt"')
    assert rec["line"] == 3 and rec["id"] == "typo"


def test_batch_output_through_a_link_to_a_device(tmp_path):
    inp, link = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("\n".join(_lines(2)) + "\n")
    link.symlink_to("/dev/null")
    s = kzcopyright.batch(inp, link, rules=RULES, kb=KB, engine="python", workers=1)
    assert s.cases == 2 and link.is_symlink() and os.readlink(link) == "/dev/null"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # the spool went elsewhere
