"""Consistency of the civil-law parameters with the MCI they guard (issue 12)."""

from __future__ import annotations

from kzcopyright.engine.rulebase import load_rulebase

from .conftest import KB, RULES


def test_mci_known_until_is_the_end_of_the_last_mci_value():
    """The rules converting compensation at the date of assessment stop at mci_known_until;
    it must be the last day an MCI value is in force, or they would read a missing MCI (and stop
    the analysis) or stay silent while an MCI exists."""
    kb = load_rulebase(RULES, KB).kb
    mci = kb.parameters["mci"]
    last = max(mci.values, key=lambda v: v.start)
    known = kb.parameters["mci_known_until"].values
    assert len(known) == 1
    assert last.end is not None and known[0].value == last.end
