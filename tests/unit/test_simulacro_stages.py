"""Where a cut's time went (prep_iac/simulacro/stages.py), from the publisher's own lines."""

from prep_iac.contract import pushed_message
from prep_iac.simulacro import stages

CUT = "20210606_1820_PREP_AYUN_COAH"


def line(at, difusor, seconds, result="activated", reason=None, cut=CUT):
    return {"at": at, "message": pushed_message(cut, difusor, result, reason, 1234, seconds)}


def test_stages_from_the_publishers_lines():
    entries = [line(110.0, "difusor-1", 2.0), line(114.5, "difusor-2", 4.5),
               line(113.0, "difusor-3", 3.0, "failed", "SSH to 10.0.0.3 failed: [x] (y)"),
               line(120.0, "difusor-1", 1.0, cut="20210606_1830_PREP_AYUN_COAH"),
               {"at": 111.0, "message": "suspended difusor-3"}]
    pushed = stages.pushes(entries)
    assert sorted(pushed) == [CUT, "20210606_1830_PREP_AYUN_COAH"]
    cut = {"id": CUT, "produced_at": 100.0, "handed_over_s": 1.5}
    assert stages.stages(cut, pushed[CUT]) == {"handed_over_s": 1.5, "first_push_s": 8.0,
                                              "push_median_s": 3.0, "push_max_s": 4.5}


def test_a_cut_the_publisher_never_pushed_says_so():
    cut = {"id": CUT, "produced_at": 100.0, "handed_over_s": 0.8}
    assert stages.stages(cut, []) == {"handed_over_s": 0.8, "first_push_s": None,
                                      "push_median_s": None, "push_max_s": None}
