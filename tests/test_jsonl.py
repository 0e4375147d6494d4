"""schemas.jsonl.json_lines: numbering, blank lines, bad lines reported in place."""

from schemas.jsonl import json_lines


def test_numbers_lines_skips_blank_ones_and_reports_bad_ones():
    got = list(json_lines(['{"a": 1}', "", "   ", "{not json", "[2]"]))
    assert [(n, obj) for n, obj, _ in got] == [(1, {"a": 1}), (4, None), (5, [2])]
    assert got[0][2] is None and got[2][2] is None and got[1][2]  # the decoder's message for line 4
