"""The kzcopyright Python API in one script (see docs/api.md).

Run it from anywhere, with the Python of an environment where kzcopyright is installed:

    python docs/examples/api_example.py

It (1) analyses the bundled example case, (2) drives a short consultation, (3) runs a small
batch of three cases (one of them deliberately broken) and resumes it, and (4) shows the two
error types. Everything it writes goes to a temporary directory that is removed at the end.
Not legal advice.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import kzcopyright


def analyse_example() -> None:
    print("== 1. analyze ==")
    result = kzcopyright.analyze(example="marketplace-photos")
    print(f"case {result.case_id!r}, engine {result.engine}")
    print("infringement:", result.status_of("infringement"))
    print("art198_part part 2:", result.status_of("art198_part", part="2"))
    print("public_domain:", result.status_of("public_domain"))

    compensation = result.find("compensation")[0]
    a = compensation.attributes
    print(f"compensation: {a['min_tenge']:,} to {a['max_tenge']:,} tenge "
          f"({compensation.status}; {', '.join(compensation.citations)})")

    for c in result.by_status("undetermined"):
        print(f"undetermined: {c.type} {c.attributes.get('part', '')}".rstrip())
    for point in result.undetermined:
        print(f"open question: {point.fact}.{point.attribute}: {point.question['en']}")

    doc = result.to_json()                       # a dict: the documented JSON (docs/json-schema.md)
    print("schema_version", doc["schema_version"], "| conclusions:", len(doc["conclusions"]))
    assert json.loads(result.to_json_text()) == doc
    print(result.disclaimer)


def short_consultation() -> None:
    print("\n== 2. consult ==")
    session = kzcopyright.consult(perspective="rights_holder")
    # Answers by question id; a choice number ("10") works for enum questions.
    answers = {
        "work:work.name": "photos",                             # who is who comes first
        "party:user.name": "the seller",
        "person:author.name": "the photographer",
        "use:use.name": "the listing",
        "case:case.act_date": "2021-06-15",
        "work:work.kind": "10",                                 # 10. photograph
        "work:work.creative": "yes",
        "work:work.objective_form": "yes",
        "use:use.acts": "reproduction, making_available",        # a list: comma-separated
    }
    for _ in range(12):
        q = session.next_question()
        if q is None:
            break
        answer = answers.get(q.id, "unknown")
        print(f"Q {q.id} [{q.type}, settles {q.settles}]: {q.prompt()}")
        if q.type == "enum":
            numbered = [f"{i}. {value}" for i, (value, _title) in enumerate(q.choices, 1)]
            shown = numbered if len(numbered) <= 4 else numbered[:2] + ["…"] + numbered[9:10]
            print("  choices:", ", ".join(shown))
        if q.why:
            print("  decides:", q.why[0])
        session.answer(answer)
        print(f"  -> {answer}")
    session.back()                                               # revise the last answer
    q = session.next_question()
    print(f"after back(): the open question is {q.id} again")
    session.answer("unknown")
    result = session.result()
    print("protected_work:", result.status_of("protected_work"),
          "| infringement:", result.status_of("infringement"))
    work = next(f["work"] for f in session.case_data()["facts"] if "work" in f)
    print("the case so far, work:", work)
    print(session.to_yaml().splitlines()[0], "(to_yaml() gives a case file)")


def small_batch(tmp: Path) -> None:
    print("\n== 3. batch ==")
    base = _example_case()
    cases = []
    for ident, damage in (("no-damage-stated", None), ("damage-1m", 1_000_000)):
        case = json.loads(json.dumps(base, default=str))          # dates become ISO strings
        case["id"] = ident
        if damage is not None:
            case["facts"][3]["use"]["damage_tenge"] = damage
        cases.append(case)
    broken = json.loads(json.dumps(base, default=str))
    broken["id"] = "typo"
    broken["facts"][3]["use"]["consnet"] = False                 # misspelt attribute
    cases.append(broken)

    inp, out = tmp / "cases.jsonl", tmp / "results.jsonl"
    inp.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    summary = kzcopyright.batch(inp, out, workers=2, timeout=60)
    print(f"{summary.cases} cases, {summary.errors} errors, {summary.skipped} skipped")
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "error" in record:
            d = record["error"]["diagnostics"][0]
            print(f"  {record['id']} (line {record['line']}): error {d['code']}: {d['message']}")
        else:
            parts = sorted(c["attributes"]["part"] + ":" + c["status"] for c in record["conclusions"]
                           if c["type"] == "art198_part")
            print(f"  {record['id']}: art198_part {', '.join(parts)}")
    print("  summary:", summary.conclusions["infringement: holds"], "x infringement: holds")
    again = kzcopyright.batch(inp, out, workers=2, resume=True)
    print(f"resume: {again.skipped} skipped, {again.errors} error(s) evaluated again")


def _example_case() -> dict:
    """The bundled example as a mapping (read through the public path of the example)."""
    import yaml
    from kzcopyright.engine.rulebase import examples_dir

    return yaml.safe_load((examples_dir() / "marketplace-photos.yaml").read_text(encoding="utf-8"))


def errors() -> None:
    print("\n== 4. errors ==")
    try:
        kzcopyright.analyze({"id": "bad", "facts": [{"work": {"key": "w", "kind": "photo"}}]})
    except kzcopyright.InputError as exc:
        for d in exc.diagnostics:
            print(f"InputError: {d.code}: {d.message} ({d.hint})")
    late = _example_case()
    late["id"] = "far-future"
    late["dates"] = {"act_date": "2099-01-01"}
    try:
        kzcopyright.analyze(late)
    except kzcopyright.EvaluationError as exc:
        print("EvaluationError:", str(exc).split(";")[0])


def main() -> None:
    analyse_example()
    short_consultation()
    with tempfile.TemporaryDirectory() as tmp:
        small_batch(Path(tmp))
    errors()


if __name__ == "__main__":   # required: batch() starts worker processes that import this file
    main()
