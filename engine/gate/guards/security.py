"""The security gate: risky constructs a candidate adds, by category, and new bandit findings.

Every changed Python file (test code too: it runs as well) is compared with its base
version; only occurrences beyond those the base already had count, keyed by what is
called or named (not by line, so moving code is not "new"). One guard per category, so a
goal can accept exactly one kind with ``allow: [guard-security-network]``:

===========================  ================================================================
guard-security-exec          eval, exec, compile, runpy, code.interact
guard-security-shell         ``shell=True``, os.system/popen/exec*/spawn*, pty.spawn,
                             subprocess.getoutput, asyncio.create_subprocess_shell
guard-security-process       os.fork/forkpty, os.kill/killpg, os.getppid, signal.pthread_kill,
                             resource.setrlimit, os.setuid & co
guard-security-network       socket, ssl, urllib, http.client, ftplib, smtplib, requests,
                             httpx, aiohttp, urllib3, websockets, paramiko, asyncio streams
guard-security-filesystem    Path.home, expanduser, $HOME, host paths (/tmp, /etc, /home,
                             ...), absolute or ``..`` paths given to file APIs, symlinks and
                             hard links, chmod/chown of absolute paths
guard-security-git           ``.git`` paths, hooks, ``core.hooksPath``, running ``git``
guard-security-native        ctypes, cffi, mmap of files
guard-security-dynamic       __import__, importlib, dunder getattr (``__globals__``,
                             ``__subclasses__``, ``__builtins__``), sys._getframe, marshal,
                             pickle loads, types.CodeType/FunctionType
guard-security-bandit        a bandit test id with more findings than on the baseline
===========================  ================================================================

This is a tripwire, not a proof: code can hide what it calls (``getattr`` on computed
names, data decoded at run time). The sandbox is what contains code the scan misses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import Hit, aliases, new_hits, parse, qualified
from engine.model import Metrics

CATEGORIES: dict[str, str] = {
    "exec": "no new eval/exec/compile of code",
    "shell": "no new shell command execution",
    "process": "no new forking, signalling or privilege/limit changes",
    "network": "no new network client or server",
    "filesystem": "no new access outside the repository (home, host paths, links)",
    "git": "no new access to git's own files or the git command",
    "native": "no new native-code access (ctypes, cffi)",
    "dynamic": "no new dynamic import or introspection tricks",
}
SPECS: dict[str, GuardSpec] = {
    cat: GuardSpec(id=f"guard-security-{cat}", requirement=req) for cat, req in CATEGORIES.items()
}
BANDIT = GuardSpec(
    id="guard-security-bandit", requirement="no bandit check finds more than on the baseline"
)

_CALLS: dict[str, tuple[str, ...]] = {
    "exec": (
        "eval",
        "exec",
        "compile",
        "builtins.eval",
        "builtins.exec",
        "runpy.run_module",
        "runpy.run_path",
        "code.interact",
        "code.InteractiveInterpreter",
        "code.InteractiveConsole",
    ),
    "shell": (
        "os.system",
        "os.popen",
        "os.execv",
        "os.execve",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execlpe",
        "os.execvp",
        "os.execvpe",
        "os.spawnl",
        "os.spawnle",
        "os.spawnlp",
        "os.spawnv",
        "os.spawnve",
        "os.spawnvp",
        "os.posix_spawn",
        "os.posix_spawnp",
        "pty.spawn",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "platform.popen",
    ),
    "process": (
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "os.getppid",
        "signal.pthread_kill",
        "signal.pidfd_send_signal",
        "resource.setrlimit",
        "resource.prlimit",
        "os.setuid",
        "os.setgid",
        "os.seteuid",
        "os.setresuid",
        "os.setsid",
        "os.register_at_fork",
        "os.unshare",
        "os.setns",
    ),
    "filesystem": (
        "pathlib.Path.home",
        "Path.home",
        "os.path.expanduser",
        "os.symlink",
        "os.link",
        "os.chroot",
        "os.mknod",
        "os.mkfifo",
        "shutil.chown",
    ),
    "native": ("ctypes.CDLL", "ctypes.cdll.LoadLibrary", "ctypes.PyDLL", "mmap.mmap"),
    "dynamic": (
        "__import__",
        "importlib.import_module",
        "importlib.reload",
        "importlib.util.spec_from_file_location",
        "importlib.util.module_from_spec",
        "importlib.machinery.SourceFileLoader",
        "sys._getframe",
        "marshal.loads",
        "pickle.loads",
        "pickle.load",
        "types.CodeType",
        "types.FunctionType",
        "inspect.currentframe",
        "imp.load_source",
        "ctypes.pythonapi",
    ),
}
_METHODS: dict[str, tuple[str, ...]] = {  # attribute calls on any object
    "filesystem": ("expanduser", "symlink_to", "hardlink_to", "home"),
}
_MODULES: dict[str, tuple[str, ...]] = {  # importing these is the finding
    "network": (
        "socket",
        "ssl",
        "urllib.request",
        "urllib3",
        "http.client",
        "http.server",
        "ftplib",
        "smtplib",
        "poplib",
        "imaplib",
        "telnetlib",
        "xmlrpc.client",
        "socketserver",
        "requests",
        "httpx",
        "aiohttp",
        "websocket",
        "websockets",
        "paramiko",
        "pycurl",
        "asyncssh",
        "dns",
    ),
    "native": ("ctypes", "_ctypes", "cffi"),
    "dynamic": ("importlib", "imp", "marshal", "pickle"),
}
_NET_CALLS = (
    "asyncio.open_connection",
    "asyncio.start_server",
    "asyncio.open_unix_connection",
    "urllib.request.urlopen",
)
_FILE_APIS = (
    "open",
    "io.open",
    "os.open",
    "pathlib.Path",
    "Path",
    "os.makedirs",
    "os.mkdir",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.replace",
    "os.rmdir",
    "shutil.rmtree",
    "shutil.copy",
    "shutil.copy2",
    "shutil.copyfile",
    "shutil.copytree",
    "shutil.move",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.utime",
    "os.listdir",
    "os.scandir",
    "os.chdir",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
    "tempfile.NamedTemporaryFile",
    "tempfile.TemporaryDirectory",
)
_HOST_PREFIXES = (
    "/tmp",
    "/var",
    "/home",
    "/root",
    "/etc",
    "/dev/shm",
    "/proc",
    "/sys",
    "/usr",
    "/opt",
    "/srv",
    "/mnt",
    "/boot",
    "/run",
    "~",
)
_GIT_TEXT = re.compile(
    r"(^|[/\\])\.git($|[/\\])|core\.hookspath|(^|\s)git\s+(config|hook)", re.IGNORECASE
)
_DUNDERS = frozenset(
    {
        "__globals__",
        "__subclasses__",
        "__builtins__",
        "__code__",
        "__closure__",
        "__mro__",
        "__bases__",
        "__loader__",
        "__import__",
        "__dict__",
    }
)


def find_risky(files: list[FileVersion]) -> dict[str, list[Finding]]:
    """New risky constructs by category (every category present, maybe empty)."""
    found: dict[str, list[Finding]] = {cat: [] for cat in CATEGORIES}
    for fv in files:
        if not fv.is_python or fv.new is None:
            continue
        for hit in new_hits(parse(fv.old), parse(fv.new), _risky_hits):
            category, _, what = hit.key.partition(":")
            found[category].append(
                Finding(
                    guard=SPECS[category].id,
                    file=fv.path,
                    line=hit.line,
                    evidence=hit.text,
                    after=what,
                )
            )
    return found


def find_new_bandit(baseline: Metrics, candidate: Metrics) -> list[Finding]:
    """Bandit test ids with more findings on the candidate (bandit scans non-test code)."""
    before, after = baseline.security.by_test, candidate.security.by_test
    return [
        Finding(
            guard=BANDIT.id,
            file="<bandit>",
            evidence=f"{test}: {before.get(test, 0)} -> {count} finding(s)",
        )
        for test, count in sorted(after.items())
        if count > before.get(test, 0)
    ]


def _risky_hits(tree: ast.AST) -> Iterator[Hit]:
    names = aliases(tree)
    # docstrings and other bare string statements document; they do not do anything
    prose = {
        id(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from _import_hits(node)
        elif isinstance(node, ast.Call):
            yield from _call_hits(node, names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in prose:
                yield from _string_hits(node)
        elif isinstance(node, ast.Attribute) and node.attr in _DUNDERS:
            yield Hit(f"dynamic:.{node.attr}", node.lineno, f"accesses .{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            yield Hit("dynamic:__builtins__", node.lineno, "uses __builtins__")
        elif isinstance(node, ast.Subscript) and _is_home_env(node, names):
            yield Hit("filesystem:$HOME", node.lineno, "reads $HOME")


def _import_hits(node: ast.Import | ast.ImportFrom) -> Iterator[Hit]:
    if isinstance(node, ast.ImportFrom) and node.level:
        return
    modules = (
        [a.name for a in node.names]
        if isinstance(node, ast.Import)
        else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
    )
    for category, listed in _MODULES.items():
        for module in modules:
            if any(module == m or module.startswith(m + ".") for m in listed):
                yield Hit(
                    f"{category}:import {module.split('.')[0]}", node.lineno, f"imports {module}"
                )
                break


def _call_hits(node: ast.Call, names: dict[str, str]) -> Iterator[Hit]:
    name = qualified(node.func, names) or ""
    for category, calls in _CALLS.items():
        if name in calls:
            yield Hit(f"{category}:{name}", node.lineno, f"calls {name}")
    method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    for category, methods in _METHODS.items():
        if method in methods and name not in _CALLS.get(category, ()):
            yield Hit(f"{category}:.{method}", node.lineno, f"calls .{method}()")
    if name in _NET_CALLS:
        yield Hit(f"network:{name}", node.lineno, f"calls {name}")
    if any(k.arg == "shell" and _truthy(k.value) for k in node.keywords):
        yield Hit(f"shell:{name}(shell=True)", node.lineno, f"calls {name} with shell=True")
    if name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
        target, attr = node.args[0], node.args[1]
        if isinstance(attr, ast.Constant) and attr.value in _DUNDERS:
            yield Hit(f"dynamic:{name}({attr.value})", node.lineno, f"{name} of {attr.value}")
        elif qualified(target, names) in ("__builtins__", "builtins"):
            yield Hit(f"dynamic:{name}(builtins)", node.lineno, f"{name} on builtins")
    if name in ("os.environ.get", "os.getenv") and node.args and _const(node.args[0]) == "HOME":
        yield Hit("filesystem:$HOME", node.lineno, "reads $HOME")
    if (
        name
        in (
            "subprocess.run",
            "subprocess.call",
            "subprocess.check_call",
            "subprocess.check_output",
            "subprocess.Popen",
        )
        and node.args
    ):
        first = node.args[0]
        head = (
            _const(first.elts[0])
            if isinstance(first, ast.List | ast.Tuple) and first.elts
            else (_const(first) or "").split(" ")[0]
        )
        if head in ("git", "/usr/bin/git"):
            yield Hit(f"git:{name}(git)", node.lineno, "runs the git command")
    if name in _FILE_APIS and node.args:
        path = _const(node.args[0])
        if isinstance(path, str) and (path.startswith("/") or ".." in path.split("/")):
            yield Hit(
                f"filesystem:{name}({path})",
                node.lineno,
                f"{name} of a path outside the repository: {path}",
            )


def _string_hits(node: ast.Constant) -> Iterator[Hit]:
    value = str(node.value)
    shown = value[:80]
    if _GIT_TEXT.search(value):
        yield Hit(f"git:{shown}", node.lineno, f"names git internals: {shown!r}")
    elif any(value == p or value.startswith(p + "/") for p in _HOST_PREFIXES):
        yield Hit(f"filesystem:{shown}", node.lineno, f"names a host path: {shown!r}")


def _is_home_env(node: ast.Subscript, names: dict[str, str]) -> bool:
    return qualified(node.value, names) == "os.environ" and _const(node.slice) == "HOME"


def _const(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _truthy(node: ast.AST) -> bool:
    return not (isinstance(node, ast.Constant) and not node.value)
