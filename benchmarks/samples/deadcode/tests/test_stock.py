from inventory.stock import restock, total


def test_total():
    assert total([("a", 2), ("b", 3)]) == 5


def test_restock():
    assert restock([("a", 1)], "a", 2) == [("a", 3)]
