"""The cache of compiled rule bases (engine/rbcache.py): the same rule base, rebuilt when stale
or corrupt, never code."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kzcopyright.engine import rbcache, rulebase
from kzcopyright.engine.rulebase import evaluate_case, load_case, load_rulebase

from .conftest import KB, RULES


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("KZCOPYRIGHT_CACHE_DIR", str(d))
    monkeypatch.delenv("KZCOPYRIGHT_CACHE", raising=False)
    monkeypatch.setattr(rulebase, "_CACHE", {})
    monkeypatch.setattr(rulebase, "_DISK_KEYS", {})
    return d


def _graph(rb):
    return json.dumps(rbcache._encode({"kb": rb.kb, "rules": rb.rules, "program": rb.program,
                                       "warnings": rb.warnings, "fp": rb.fingerprint}))


def _fresh(monkeypatch):
    monkeypatch.setattr(rulebase, "_CACHE", {})
    monkeypatch.setattr(rulebase, "_DISK_KEYS", {})


def test_entry_gives_the_same_rule_base_and_answers(cache, monkeypatch):
    built = load_rulebase(RULES, KB)
    entries = list(cache.glob("rulebase-*.json"))
    assert len(entries) == 1
    for line in entries[0].read_text(encoding="utf-8").splitlines():
        json.loads(line)  # plain JSON data
    _fresh(monkeypatch)
    read = load_rulebase(RULES, KB)
    assert read is not built
    assert _graph(read) == _graph(built)
    case = load_case(built, None, example="marketplace-photos")
    for engine in ("python",):
        a = evaluate_case(built, case, engine).to_json()
        b = evaluate_case(read, case, engine).to_json()
        assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_corrupt_entry_is_ignored_and_rewritten(cache, monkeypatch):
    built = load_rulebase(RULES, KB)
    (entry,) = cache.glob("rulebase-*.json")
    head, _, body = entry.read_text(encoding="utf-8").partition("\n")
    entry.write_text(head + "\n" + body[: len(body) // 2], encoding="utf-8")
    _fresh(monkeypatch)
    again = load_rulebase(RULES, KB)
    assert _graph(again) == _graph(built)
    assert json.loads(entry.read_text(encoding="utf-8").partition("\n")[0])["format"] == rbcache.FORMAT
    _fresh(monkeypatch)
    assert _graph(load_rulebase(RULES, KB)) == _graph(built)


def test_unknown_class_in_an_entry_is_not_built(cache, monkeypatch):
    load_rulebase(RULES, KB)
    (entry,) = cache.glob("rulebase-*.json")
    key = entry.stem.split("-", 1)[1]
    head = {"format": rbcache.FORMAT, "key": key, "shapes": [["os.system", []]]}
    entry.write_text(json.dumps(head) + "\n" + json.dumps({"kb": {"~o": [0]}}), encoding="utf-8")
    assert rbcache.load_entry(key) is None


def test_a_changed_file_is_a_new_key(cache, tmp_path, monkeypatch):
    rules, kb = tmp_path / "rules", tmp_path / "kb"
    shutil.copytree(RULES, rules)
    shutil.copytree(KB, kb)
    before = rbcache.cache_key(rules, kb, tmp_path, tmp_path)
    assert before is not None and before == rbcache.cache_key(rules, kb, tmp_path, tmp_path)
    f = sorted(rules.rglob("*.yaml"))[0]
    f.write_text(f.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert rbcache.cache_key(rules, kb, tmp_path, tmp_path) != before
    (kb / "parameters" / "extra.yaml").write_text("parameters: {}\n", encoding="utf-8")
    assert rbcache.cache_key(rules, kb, tmp_path, tmp_path) not in (before, None)


def test_cache_off_writes_nothing(cache, monkeypatch):
    monkeypatch.setenv("KZCOPYRIGHT_CACHE", "off")
    load_rulebase(RULES, KB)
    assert not Path(cache).exists()


def test_old_entries_are_pruned(cache, monkeypatch):
    load_rulebase(RULES, KB)
    (entry,) = cache.glob("rulebase-*.json")
    for i in range(rbcache.KEEP + 3):
        old = cache / f"rulebase-old{i}.json"
        old.write_text("{}", encoding="utf-8")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    rbcache._prune(cache)
    left = sorted(p.name for p in cache.glob("rulebase-*.json"))
    assert len(left) == rbcache.KEEP and entry.name in left and "rulebase-old0.json" not in left
