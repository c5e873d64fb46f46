"""benchmarks/pruning_rule.py: its replay applies the rule as a live search does."""

from __future__ import annotations

from autopeft.study.references import REFERENCE
from tests.bench.scripts import BENCHMARKS, load_script


def test_the_replay_never_stops_a_reference_point_as_a_live_search_never_does() -> None:
    module = load_script("pruning_rule.py", "pruning_rule")
    journal = BENCHMARKS.parent / module.JOURNALS[0]
    result = module.replay(journal, 8)
    assert result["trials"] == 50 and result["stopped"] > 0
    assert not [s for s in result["detail"] if s["origin"].startswith(REFERENCE)]
    assert all(s["partial"] < s["bar"] and s["at"] < 1.0 for s in result["detail"])
