from __future__ import annotations

from plaza.nlu.picks import picked_index


def test_an_ordinal_picks_by_rank_and_the_last_one_is_the_last() -> None:
    assert picked_index("the second one", [(4, 10, 2)], [], 3) == 1
    assert picked_index("la dernière", [], [], 3) == 2
    assert picked_index("the fourth one", [(4, 10, 4)], [], 3) is None  # beyond the list
    assert picked_index("the first one", [(4, 9, 1)], [], 0) is None  # nothing shown


def test_an_ordinal_inside_a_date_picks_nothing_but_a_bare_3rd_does() -> None:
    assert picked_index("le premier décembre", [(3, 10, 1)], [(0, 19)], 3) is None
    assert picked_index("the 3rd", [(4, 7, 3)], [(0, 7)], 3) == 2


def test_a_long_message_picks_only_when_the_ordinal_names_what_it_picks() -> None:
    text = "the first one for 2 on Saturday at 1pm"
    assert picked_index(text, [(4, 9, 1)], [(20, 38)], 3) == 0
    assert picked_index(text, [(4, 9, 1)], [(20, 38)], 3, long_picks=False) is None
    assert picked_index("first time here, what would you recommend to us?", [(0, 5, 1)], [], 3) is None
