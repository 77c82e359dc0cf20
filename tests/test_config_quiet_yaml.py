"""engine.config.quiet_yaml: PyYAML imported with its reader's pattern built from the
complement matches exactly the same characters, refuses the same text with the same
message, and leaves ``re.compile`` as it was."""

from __future__ import annotations

import re
from pathlib import Path

from engine.config.quiet_yaml import NON_PRINTABLE, PRINTABLE_COMPLEMENT
from tests.repo_helpers import child_python

PROBE = (
    "import re, sys\n"
    "{first}\n"
    "import yaml, yaml.reader\n"
    "assert re.compile.__module__ == 're' and re.compile.__name__ == 'compile'\n"
    "print(yaml.reader.Reader.NON_PRINTABLE.pattern == {complement!r})\n"
    "for text in ('a: 1\\x07\\n', 'a: \\ud800\\n', 'a: \\ufffe', 'ok: \\x85\\U0001f600\\n'):\n"
    "    try:\n"
    "        print(yaml.load(text, Loader=yaml.SafeLoader))\n"
    "    except yaml.YAMLError as exc:\n"
    "        print(str(exc).splitlines()[0])\n"
)


def test_the_complement_matches_the_same_characters() -> None:
    original, complement = re.compile(NON_PRINTABLE), re.compile(PRINTABLE_COMPLEMENT)
    differ = [
        c
        for c in range(0x110000)
        if (original.match(chr(c)) is None) != (complement.match(chr(c)) is None)
    ]
    assert differ == []


def test_it_is_the_pattern_pyyaml_writes() -> None:
    import yaml.reader

    source = Path(yaml.reader.__file__).read_text(encoding="utf-8")
    written = source.split("NON_PRINTABLE = re.compile(", 1)[1].split(")", 1)[0]
    assert eval(written) == NON_PRINTABLE  # noqa: S307 - a string literal from PyYAML's source


def test_yaml_refuses_and_reads_the_same_text_through_the_shim() -> None:
    shim = child_python(
        "-c", PROBE.format(first="import engine.config.quiet_yaml", complement=PRINTABLE_COMPLEMENT)
    )
    plain = child_python("-c", PROBE.format(first="", complement=PRINTABLE_COMPLEMENT))
    assert shim.returncode == 0 and plain.returncode == 0, shim.stderr + plain.stderr
    shim_lines, plain_lines = shim.stdout.splitlines(), plain.stdout.splitlines()
    assert shim_lines[0] == "True" and plain_lines[0] == "False"
    assert shim_lines[1:] == plain_lines[1:]
    assert "unacceptable character #x0007" in shim_lines[1]
