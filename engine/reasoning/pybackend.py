"""The plain-Python backend: a stratified, semi-naive evaluator over the compiled program.

It is the oracle the durable backend is tested against, the evaluator behind why-not
analysis, and the engine where durable_rules cannot be imported (Python ≥ 3.13).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Iterator

from .evaluate import L, U, EvalContext
from ..language.program import DEFEAT_PREFIX, Branch, Program
from ..language.scenario import Fact, Scenario

__all__ = ["PythonBackend"]


class PythonBackend:
    """The plain-Python evaluator of one compiled program; :meth:`evaluate` returns the evaluation's context."""

    name = "python"

    def __init__(self, program: Program):
        self.program = program
        self.by_stratum: dict[int, list[Branch]] = {}
        for b in program.branches:
            self.by_stratum.setdefault(b.stratum, []).append(b)
        # index: stratum -> first condition's type -> branches, so that a case visits only the
        # rules whose first condition can match one of its kinds of fact
        self.index: dict[int, dict[str, list[Branch]]] = {}
        for k, bs in self.by_stratum.items():
            for b in bs:
                self.index.setdefault(k, {}).setdefault(b.positives[0].type, []).append(b)
        # the branches whose firings cannot add a fact of a type they read (neither a conclusion
        # nor a defeat record): their premise tuples are found once, in mode U with which are also
        # certain, since firing them in mode L cannot change what mode U finds
        self.one_pass: set[str] = set()
        self.as_certain: set[str] = set()
        self.pos_types = {b.uid: frozenset(p.type for p in b.positives) for b in program.branches}
        for b in program.branches:
            writes = {h.type for h in b.heads} | {DEFEAT_PREFIX + d.target for d in b.defeats}
            if not writes & {p.type for p in b.positives}:
                self.one_pass.add(b.uid)
                # ... and may take a certain firing's record for its firing in mode U when none
                # of its firings can add what its negations or its rule's exceptions read
                if not writes & ({p.type for p in b.negations} | {DEFEAT_PREFIX + b.rule.id}):
                    self.as_certain.add(b.uid)

    def evaluate(self, scenario: Scenario, *, bounded: bool = True,
                 forced: dict[tuple[str, tuple[str, ...]], bool] | None = None,
                 lemmas: tuple[Fact, ...] = ()) -> EvalContext:
        """Evaluate ``scenario``; ``bounded``: with the kb's constraints applied to its facts;
        ``forced`` and ``lemmas``: what deciding by cases fixes (EvalContext.forced, .lemmas)."""
        ctx = EvalContext(self.program, scenario, bounded=bounded, forced=dict(forced or {}), lemmas=lemmas)
        for k in sorted(self.by_stratum):
            idx = self.index[k]
            # semi-naive: after the first round, only matches using a fact new since the
            # previous round can fire again
            delta: set[str] | None = None
            while True:
                present = ctx.store.by_type
                branches = [b for t in sorted(present) if t in idx for b in idx[t]]
                fresh: set[str] = set()
                delta_types = {ctx.store.facts[f].type for f in delta} if delta is not None else None
                by_type = ctx.store.by_type
                for b in branches:
                    ptypes = self.pos_types[b.uid]
                    if delta_types is not None and delta_types.isdisjoint(ptypes):
                        continue  # nothing new it could match
                    if not all(by_type.get(t) for t in ptypes):
                        continue  # a condition on a kind of fact this case does not have
                    if b.uid in self.one_pass:
                        found = list(self._matches_lu(ctx, b, delta))
                        copy = b.uid in self.as_certain
                        for mode in (L, U):
                            for premises, sure, env in found:
                                if sure:  # the bindings are those of both modes: not matched again
                                    for fact, _m in ctx.fire(b, mode, premises, env=env, as_certain=copy):
                                        fresh.add(fact.fid)
                                elif mode == U:
                                    for fact, _m in ctx.fire(b, mode, premises):
                                        fresh.add(fact.fid)
                        continue
                    for mode in (L, U):
                        for premises in list(self._matches(ctx, b, mode, delta)):
                            for fact, _m in ctx.fire(b, mode, premises):
                                fresh.add(fact.fid)
                if not fresh:
                    break
                delta = fresh
        return ctx

    def _matches_lu(self, ctx: EvalContext, b: Branch, delta: set[str] | None
                    ) -> Iterator[tuple[list[Fact], bool, dict[str, Any]]]:
        """The premise tuples of :meth:`_matches` in mode U, in its order, each with whether it
        is also a tuple of mode L (all its facts certain, no test open) and its bindings: the
        tuples of mode L are those, in the same order, since on a match in both modes the
        bindings agree."""
        store = ctx.store
        certain, possible = store.certain, store.possible
        pats = b.positives
        n = len(pats)

        def rec(i: int, env: dict[str, Any], chosen: list[Fact], new_at: int | None, sure: bool
                ) -> Iterator[tuple[list[Fact], bool, dict[str, Any]]]:
            if i == n:
                yield list(chosen), sure, env
                return
            pat = pats[i]
            if pat.same_as is not None:
                cands: list[str] = [chosen[int(pat.same_as[1:])].fid]
                if new_at == i and delta is not None and cands[0] not in delta:
                    return
            else:
                taken = {f.fid for f in chosen}
                source = delta_by_type.get(pat.type, []) if new_at == i else ctx._candidates(pat, env)
                cands = [x for x in source if x not in taken]
            for fid in cands:
                if fid not in possible:
                    continue
                f = store.facts[fid]
                m = ctx.match_lu(b, pat, f, env)
                if m is None:
                    continue
                chosen.append(f)
                yield from rec(i + 1, m[0], chosen, new_at, sure and m[1] and fid in certain)
                chosen.pop()

        delta_by_type: dict[str, list[str]] = {}
        if delta is None:
            yield from rec(0, {}, [], None, True)
            return
        for f in sorted(delta):
            delta_by_type.setdefault(store.facts[f].type, []).append(f)
        delta_types = set(delta_by_type)
        for pos, pat in enumerate(pats):
            if pat.same_as is None and pat.type in delta_types:
                yield from rec(0, {}, [], pos, True)

    def _matches(self, ctx: EvalContext, b: Branch, mode: str, delta: set[str] | None
                 ) -> Iterator[list[Fact]]:
        """Premise tuples for ``b``. In a semi-naive round (``delta`` given) only tuples using at
        least one new fact: for each position, that position takes new facts only."""
        store = ctx.store
        pats = b.positives

        def rec(i: int, env: dict[str, Any], chosen: list[Fact], new_at: int | None) -> Iterator[list[Fact]]:
            if i == len(pats):
                yield list(chosen)
                return
            pat = pats[i]
            if pat.same_as is not None:
                cands: list[str] = [chosen[int(pat.same_as[1:])].fid]
                if new_at == i and delta is not None and cands[0] not in delta:
                    return
            else:
                # each other positive condition matches a different fact (as in durable_rules)
                taken = {f.fid for f in chosen}
                source = delta_by_type.get(pat.type, []) if new_at == i else ctx._candidates(pat, env)
                cands = [x for x in source if x not in taken]
            for fid in cands:
                if not store.in_mode(fid, mode):
                    continue
                f = store.facts[fid]
                new_env = ctx.match(b, pat, f, env, mode, None)
                if new_env is None:
                    continue
                chosen.append(f)
                yield from rec(i + 1, new_env, chosen, new_at)
                chosen.pop()

        delta_by_type: dict[str, list[str]] = {}
        if delta is None:
            yield from rec(0, {}, [], None)
            return
        for f in sorted(delta):
            delta_by_type.setdefault(store.facts[f].type, []).append(f)
        delta_types = set(delta_by_type)
        for pos, pat in enumerate(pats):
            if pat.same_as is None and pat.type in delta_types:
                yield from rec(0, {}, [], pos)
