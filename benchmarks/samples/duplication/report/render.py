def render_users(users):
    lines = []
    for name, value in users:
        lines.append(name.ljust(10) + ": " + str(value))
    return "\n".join(lines)


def render_totals(totals):
    lines = []
    for name, value in totals:
        lines.append(name.ljust(10) + ": " + str(value))
    return "\n".join(lines)
