from grade.scores import letter


def test_letter():
    assert [letter(s) for s in (95, 85, 75, 65, 10)] == ["A", "B", "C", "D", "F"]
    assert letter(90) == "A" and letter(60) == "D"
