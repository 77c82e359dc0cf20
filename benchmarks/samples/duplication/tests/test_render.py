from report.render import render_totals, render_users


def test_render():
    assert render_users([("ada", 1)]) == "ada       : 1"
    assert render_totals([("x", 2), ("y", 3)]) == "x         : 2\ny         : 3"
