import os


def total(items):
    unused = len(items)
    return sum(qty for _, qty in items)


def restock(items, name, qty):
    return [(n, q + qty if n == name else q) for n, q in items]
