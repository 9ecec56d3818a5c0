"""Files: a shell-like assistant working in a small virtual file system.

### Description
The agent manages a user's files through shell-like tools: it navigates, reads, searches, writes,
copies, moves and deletes. The file system is pure data in the state (the real disk is never
touched) and has a *current working directory*: ``cd`` changes it, and every relative path any
tool receives is resolved against it, so navigation is state, not only data flow. Paths are
normalised the POSIX way (``..`` at the root stays at the root; ``~`` is the home directory), so
a hostile path such as ``../../etc/passwd`` just resolves inside the virtual tree. The user
speaks over 2 to 5 turns and may hold back a detail (a path, a word, a file name) until asked.

### Tools
| tool | kind | rule |
|---|---|---|
| pwd | read | |
| cd | write | the target must be an existing directory; no path means home |
| ls | read | directories only; entries sorted by name |
| cat | read | files only |
| head / tail | read | the first / last ``lines`` lines of a file |
| wc | read | lines, words and characters of a file |
| find | read | entries under a directory whose *name* matches a glob (fnmatch) |
| grep | read | lines containing a substring (case-sensitive), in a file or under a directory |
| du | read | total bytes and file count of a file or directory |
| write_file | write | creates or overwrites a file; the parent directory must exist |
| append_file | write | adds line(s) at the end of an existing file |
| touch | write | creates an empty file if nothing is there |
| mkdir | write | ``parents=true`` creates missing parents and accepts an existing directory |
| rm | write | directories only with ``recursive=true``; never the current directory or one above it |
| mv | write | into a directory when the target is one; never overwrites |
| cp | write | files only; into a directory when the target is one; never overwrites |

Every tool refuses paths with control characters (NUL included). Everything outside the home
directory is read-only, and the home directory itself cannot be removed or moved. Files always
end with a newline: ``write_file`` and ``append_file`` add one when the text lacks it.

### State
``cwd`` (absolute path), ``home`` (``/home/user``) and ``nodes``: absolute path ->
``{"type": "dir"}`` or ``{"type": "file", "content": str}``. Every node's parent is a directory
node; the root ``/`` is one too. The final ``cwd`` is part of the state compared after each turn.

### Tasks
Scenarios (one user turn each; depth of the call DAG in brackets): ``go_and_list`` (2),
``count_lines`` (1), ``last_log_line`` (1), ``backup_copy`` (1), ``write_in_new_dir`` (1),
``append_line`` (1), ``write_here`` (1), ``rename_file`` (1), ``disk_usage`` (1),
``remove_dir`` (1), ``delete_by_extension`` (2), ``gather_by_extension`` (2),
``archive_by_word`` (2 or 3), ``visit_file_folder`` (3), ``review_log_copy`` (4).

### Reward
After each user turn the file system (cwd included) must equal the gold state, and any value the
user asked for must appear in the agent's reply; progress is the fraction of turns passed, the
outcome is 1 when every turn passes.

### Episode end
When the last turn is judged, when the agent gives up, or on the environment's step budget.

### Arguments
``make_world(rng)`` builds a home directory (notes, logs, projects, archive and a few optional
folders, with short word-list contents) from a ``numpy.random.Generator``.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

import numpy as np

from ..builder import TaskBuilder
from ..domain import Domain
from ..tool import ToolError, arg, arr, obj, tool

HOME = "/home/user"
WORDS = ["apple", "river", "falcon", "copper", "meadow", "lantern", "glacier", "pepper", "violet",
         "harbor", "quartz", "willow", "ember", "saddle", "thunder", "pebble", "orchid", "canyon",
         "marble", "cobalt", "maple", "tundra", "walnut", "zephyr", "basil", "cinder", "dune",
         "fjord", "hazel", "juniper", "kettle", "lemon", "mosaic", "nectar", "oyster", "prairie",
         "raven", "silk", "tulip", "umber", "velvet", "wren", "yarrow", "anchor", "bramble",
         "cactus", "dahlia", "eagle", "fossil", "garnet", "heron", "indigo", "jasper", "koala",
         "lotus", "mango", "nutmeg", "otter", "plum", "quill"]
LEVELS = ["INFO", "INFO", "WARN", "ERROR"]
NOTE_NAMES = ["todo", "ideas", "groceries", "meeting", "reading", "journal", "plans", "contacts", "goals"]
LOG_NAMES = ["app", "web", "db", "cron", "mail", "backup", "auth"]
PROJECTS = ["alpha", "beta", "gamma", "delta", "omega", "orion"]
PROJECT_FILES = ["README.md", "main.py", "notes.txt", "data.csv", "config.ini"]
REPORT_NAMES = ["sales", "budget", "q1", "q2", "inventory", "travel"]
NEW_DIRS = ["drafts", "scratch", "ideas", "backup", "bundle", "shared", "misc"]
NEW_FILES = ["plan.txt", "list.txt", "summary.md", "readme.txt", "draft.md", "log.txt"]
NOTES = ["reviewed", "checked by ops", "done", "archived copy", "follow up next week"]

PATH = arg("path", "string", "A file or directory path, absolute, relative to the current "
           "directory, or starting with ~ (the home directory).", minLength=1, maxLength=256)
DIR = arg("dir_path", "string", "A directory path, absolute, relative to the current directory, "
          "or starting with ~.", minLength=1, maxLength=256)
NAME = arg("file_name", "string", "The name of a file or directory (its last path component).")
KIND = arg("node_type", "string", "'file' or 'dir'.", enum=["file", "dir"])
TEXT = arg(None, "string", "Text; a trailing newline is added when missing.", maxLength=4000)
LINE_COUNT = arg(None, "integer", "How many lines.", minimum=1, maximum=100)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# -- paths and nodes ---------------------------------------------------------------------------

def _resolve(state: dict, path: str) -> str:
    """The absolute, normalised form of ``path`` as seen from the current directory."""
    if _CONTROL.search(path):
        raise ToolError("path refused: it contains control characters (such as NUL)")
    if path == "~" or path.startswith("~/"):
        path = state["home"] + path[1:]
    if not path.startswith("/"):
        path = posixpath.join(state["cwd"], path)
    path = posixpath.normpath(path)
    return "/" + path.lstrip("/")  # normpath keeps a leading '//'


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _node(state: dict, path: str, kind: str | None = None) -> dict:
    node = state["nodes"].get(path)
    if node is None:
        raise ToolError(f"no such file or directory: {path}")
    if kind == "dir" and node["type"] != "dir":
        raise ToolError(f"not a directory: {path}")
    if kind == "file" and node["type"] != "file":
        raise ToolError(f"is a directory, not a file: {path}")
    return node


def _subtree(state: dict, top: str) -> list[str]:
    """``top`` and everything below it, sorted."""
    prefix = top.rstrip("/") + "/"
    return sorted(p for p in state["nodes"] if p == top or p.startswith(prefix))


def _children(state: dict, directory: str) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    return sorted(p for p in state["nodes"]
                  if p.startswith(prefix) and p != prefix and "/" not in p[len(prefix):])


def _files_under(state: dict, top: str) -> list[str]:
    return [p for p in _subtree(state, top) if state["nodes"][p]["type"] == "file"]


def _size(content: str) -> int:
    return len(content.encode("utf-8"))


def _writable(state: dict, path: str, *, movable: bool = False) -> None:
    """Only the home directory's contents can change (the home itself only for mkdir -p)."""
    home = state["home"]
    if not _within(path, home):
        raise ToolError(f"permission denied: {path} is outside the home directory {home}, "
                        "which is the only writable place")
    if movable and path == home:
        raise ToolError("the home directory itself cannot be removed or moved")


def _free_target(state: dict, source: str, destination: str) -> str:
    """Where ``source`` lands for mv/cp: inside ``destination`` if that is a directory; the
    target must not exist yet and its parent must be a directory."""
    target = _resolve(state, destination)
    if state["nodes"].get(target, {}).get("type") == "dir":
        target = posixpath.join(target, posixpath.basename(source))
    _writable(state, target, movable=True)
    if target in state["nodes"]:
        raise ToolError(f"{target} already exists; remove it first (files are never overwritten)")
    _node(state, posixpath.dirname(target), "dir")
    return target


def _as_text(text: str) -> str:
    """Files end with exactly one newline, so 'a' and 'a\\n' write the same file."""
    body = text.rstrip("\n")
    return body + "\n" if body else ""


# -- reading tools -----------------------------------------------------------------------------

@tool("Print the current working directory.", params={}, result=obj(cwd=DIR))
def pwd(state):
    return {"cwd": state["cwd"]}


@tool("Change the current working directory (to the home directory when no path is given). "
      "Relative paths in every tool are resolved against it.",
      params={"path": DIR}, optional=("path",), result=obj(cwd=DIR), writes=True)
def cd(state, path="~"):
    target = _resolve(state, path)
    _node(state, target, "dir")
    state["cwd"] = target
    return {"cwd": target}


@tool("List a directory's entries (names and types), sorted by name; the current one by default.",
      params={"path": DIR}, optional=("path",),
      result=obj(path=DIR, entries=arr(obj(name=NAME, type=KIND))))
def ls(state, path="."):
    directory = _resolve(state, path)
    _node(state, directory, "dir")
    return {"path": directory, "entries": [{"name": posixpath.basename(p), "type": state["nodes"][p]["type"]}
                                           for p in _children(state, directory)]}


@tool("Print a file's whole content.", params={"path": PATH}, result=obj(path=PATH, content=TEXT))
def cat(state, path):
    target = _resolve(state, path)
    return {"path": target, "content": _node(state, target, "file")["content"]}


@tool("The first lines of a file (5 by default).", params={"path": PATH, "lines": LINE_COUNT},
      optional=("lines",), result=obj(path=PATH, lines=arr(arg(None, "string"))))
def head(state, path, lines=5):
    target = _resolve(state, path)
    return {"path": target, "lines": _node(state, target, "file")["content"].splitlines()[:lines]}


@tool("The last lines of a file (5 by default).", params={"path": PATH, "lines": LINE_COUNT},
      optional=("lines",), result=obj(path=PATH, lines=arr(arg(None, "string"))))
def tail(state, path, lines=5):
    target = _resolve(state, path)
    return {"path": target, "lines": _node(state, target, "file")["content"].splitlines()[-lines:]}


@tool("Count a file's lines, words (whitespace-separated) and characters.", params={"path": PATH},
      result=obj(path=PATH, lines=arg("line_count", "integer"), words=arg("word_count", "integer"),
                 chars=arg(None, "integer")))
def wc(state, path):
    target = _resolve(state, path)
    content = _node(state, target, "file")["content"]
    return {"path": target, "lines": len(content.splitlines()), "words": len(content.split()),
            "chars": len(content)}


@tool("Find the files and directories below a directory (the current one by default) whose name "
      "matches a shell glob such as '*.log' (case-sensitive); optionally only one type.",
      params={"name": {**NAME, "description": "A glob matched against entry names, e.g. '*.txt'.",
                       "minLength": 1, "maxLength": 100},
              "path": DIR, "type": KIND}, optional=("path", "type"),
      result=obj(matches=arr(obj(path=PATH, dir=DIR, type=KIND)), count=arg(None, "integer")))
def find(state, name, path=".", type=None):
    top = _resolve(state, path)
    _node(state, top, "dir")
    found = [p for p in _subtree(state, top) if p != top
             and fnmatch.fnmatchcase(posixpath.basename(p), name)
             and type in (None, state["nodes"][p]["type"])]
    return {"matches": [{"path": p, "dir": posixpath.dirname(p), "type": state["nodes"][p]["type"]}
                        for p in found], "count": len(found)}


@tool("Search for lines containing a text (case-sensitive substring) in a file or in every file "
      "below a directory (the current one by default).",
      params={"pattern": arg("search_text", "string", "The text to look for.", minLength=1, maxLength=200),
              "path": PATH}, optional=("path",),
      result=obj(matches=arr(obj(path=PATH, line_number=arg(None, "integer", minimum=1),
                                 line=arg(None, "string"))), count=arg(None, "integer")))
def grep(state, pattern, path="."):
    top = _resolve(state, path)
    _node(state, top)
    matches = [{"path": p, "line_number": n, "line": line}
               for p in _files_under(state, top)
               for n, line in enumerate(state["nodes"][p]["content"].splitlines(), 1) if pattern in line]
    return {"matches": matches, "count": len(matches)}


@tool("Disk usage: the total size in bytes of a file, or of all files below a directory, and how "
      "many files that is (the current directory by default).",
      params={"path": PATH}, optional=("path",),
      result=obj(path=PATH, bytes=arg("size", "integer"), files=arg(None, "integer")))
def du(state, path="."):
    top = _resolve(state, path)
    _node(state, top)
    files = _files_under(state, top)
    return {"path": top, "bytes": sum(_size(state["nodes"][p]["content"]) for p in files),
            "files": len(files)}


# -- writing tools -----------------------------------------------------------------------------

@tool("Write a file, creating it or replacing its whole content. The parent directory must exist; "
      "a trailing newline is added when missing.",
      params={"path": PATH, "content": TEXT},
      result=obj(path=PATH, size=arg("size", "integer"), created=arg(None, "boolean")), writes=True)
def write_file(state, path, content):
    target = _resolve(state, path)
    _writable(state, target, movable=True)
    existing = state["nodes"].get(target)
    if existing is not None and existing["type"] == "dir":
        raise ToolError(f"{target} is a directory")
    _node(state, posixpath.dirname(target), "dir")
    state["nodes"][target] = {"type": "file", "content": _as_text(content)}
    return {"path": target, "size": _size(state["nodes"][target]["content"]), "created": existing is None}


@tool("Append text as new line(s) at the end of an existing file.",
      params={"path": PATH, "text": {**TEXT, "minLength": 1}},
      result=obj(path=PATH, size=arg("size", "integer")), writes=True)
def append_file(state, path, text):
    target = _resolve(state, path)
    _writable(state, target, movable=True)
    node = _node(state, target, "file")
    addition = _as_text(text)
    if not addition:
        raise ToolError("nothing to append: the text is empty")
    node["content"] = _as_text(node["content"]) + addition
    return {"path": target, "size": _size(node["content"])}


@tool("Create an empty file if nothing exists at the path (an existing entry is left unchanged).",
      params={"path": PATH}, result=obj(path=PATH, created=arg(None, "boolean")), writes=True)
def touch(state, path):
    target = _resolve(state, path)
    if target in state["nodes"]:
        return {"path": target, "created": False}
    _writable(state, target, movable=True)
    _node(state, posixpath.dirname(target), "dir")
    state["nodes"][target] = {"type": "file", "content": ""}
    return {"path": target, "created": True}


@tool("Create a directory. With parents=true, missing parent directories are created too and an "
      "existing directory is accepted.",
      params={"path": DIR, "parents": arg(None, "boolean", "Create missing parents (like mkdir -p).")},
      optional=("parents",), result=obj(path=DIR, created=arr(DIR)), writes=True)
def mkdir(state, path, parents=False):
    target = _resolve(state, path)
    if target in state["nodes"]:
        _node(state, target, "dir")
        if not parents:
            raise ToolError(f"{target} already exists")
        return {"path": target, "created": []}
    _writable(state, target)
    missing, parent = [target], posixpath.dirname(target)
    while parent not in state["nodes"]:
        missing.append(parent)
        parent = posixpath.dirname(parent)
    _node(state, parent, "dir")
    if len(missing) > 1 and not parents:
        raise ToolError(f"parent directory {missing[1]} does not exist (pass parents=true to create it)")
    for p in reversed(missing):
        state["nodes"][p] = {"type": "dir"}
    return {"path": target, "created": sorted(missing)}


@tool("Remove a file, or a directory with everything in it when recursive=true. The current "
      "directory and the directories above it cannot be removed.",
      params={"path": PATH, "recursive": arg(None, "boolean", "Required to remove a directory.")},
      optional=("recursive",), result=obj(removed=arr(PATH)), writes=True)
def rm(state, path, recursive=False):
    target = _resolve(state, path)
    _writable(state, target, movable=True)
    node = _node(state, target)
    if node["type"] == "dir" and not recursive:
        raise ToolError(f"{target} is a directory: pass recursive=true to remove it and its contents")
    if _within(state["cwd"], target):
        raise ToolError(f"cannot remove {target}: the current directory is inside it; cd elsewhere first")
    removed = _subtree(state, target)
    for p in removed:
        del state["nodes"][p]
    return {"removed": removed}


@tool("Move or rename a file or directory. If the destination is an existing directory the source "
      "goes inside it; an existing file is never overwritten.",
      params={"source": PATH, "destination": PATH},
      result=obj(source=PATH, destination=PATH), writes=True)
def mv(state, source, destination):
    origin = _resolve(state, source)
    _writable(state, origin, movable=True)
    _node(state, origin)
    target = _free_target(state, origin, destination)
    if _within(target, origin):
        raise ToolError(f"cannot move {origin} into itself")
    if _within(state["cwd"], origin):
        raise ToolError(f"cannot move {origin}: the current directory is inside it; cd elsewhere first")
    for p in _subtree(state, origin):
        state["nodes"][target + p[len(origin):]] = state["nodes"].pop(p)
    return {"source": origin, "destination": target}


@tool("Copy a file. If the destination is an existing directory the copy goes inside it with the "
      "same name; an existing file is never overwritten. Directories cannot be copied.",
      params={"source": PATH, "destination": PATH},
      result=obj(source=PATH, destination=PATH, size=arg("size", "integer")), writes=True)
def cp(state, source, destination):
    origin = _resolve(state, source)
    content = _node(state, origin, "file")["content"]
    target = _free_target(state, origin, destination)
    state["nodes"][target] = {"type": "file", "content": content}
    return {"source": origin, "destination": target, "size": _size(content)}


TOOLS = [pwd, cd, ls, cat, head, tail, wc, find, grep, du,
         write_file, append_file, touch, mkdir, rm, mv, cp]


# -- the world ---------------------------------------------------------------------------------

def _words(rng: np.random.Generator, low: int, high: int) -> list[str]:
    picked = rng.choice(len(WORDS), size=int(rng.integers(low, high + 1)), replace=False)
    return [WORDS[int(i)] for i in picked]


def _text_file(rng) -> str:
    return "".join(" ".join(_words(rng, 2, 5)) + "\n" for _ in range(int(rng.integers(1, 5))))


def _log_file(rng) -> str:
    return "".join(f"{LEVELS[int(rng.integers(len(LEVELS)))]} {' '.join(_words(rng, 2, 4))}\n"
                   for _ in range(int(rng.integers(2, 6))))


def _csv_file(rng) -> str:
    return "item,qty\n" + "".join(f"{w},{int(rng.integers(1, 50))}\n" for w in _words(rng, 1, 3))


def _project_file(rng, name: str) -> str:
    word = _words(rng, 1, 1)[0]
    if name.endswith(".py"):
        return f"print('{word}')\n"
    if name.endswith(".csv"):
        return _csv_file(rng)
    if name.endswith(".ini"):
        return f"[main]\nname = {word}\n"
    return _text_file(rng)


def _some(rng, pool: list[str], low: int, high: int) -> list[str]:
    return [pool[int(i)] for i in rng.choice(len(pool), size=int(rng.integers(low, high + 1)), replace=False)]


def make_world(rng: np.random.Generator) -> dict:
    files: dict[str, str] = {"/etc/hostname": "rods-box\n", "/etc/motd": "welcome to the rods box\n"}
    for name in _some(rng, NOTE_NAMES, 2, 4):
        files[f"{HOME}/notes/{name}.{'md' if rng.random() < 0.3 else 'txt'}"] = _text_file(rng)
    for name in _some(rng, LOG_NAMES, 2, 4):
        files[f"{HOME}/logs/{name}.log"] = _log_file(rng)
    if rng.random() < 0.5:
        for name in _some(rng, LOG_NAMES, 1, 2):
            files[f"{HOME}/logs/old/{name}.log"] = _log_file(rng)
    for project in _some(rng, PROJECTS, 2, 3):
        for name in _some(rng, PROJECT_FILES, 1, 3):
            files[f"{HOME}/projects/{project}/{name}"] = _project_file(rng, name)
    for name in _some(rng, NOTE_NAMES, 0, 2):
        files[f"{HOME}/archive/{name}-old.txt"] = _text_file(rng)
    if rng.random() < 0.6:
        for name in _some(rng, REPORT_NAMES, 1, 3):
            files[f"{HOME}/reports/{name}.csv"] = _csv_file(rng)
    if rng.random() < 0.5:
        files[f"{HOME}/todo.txt"] = _text_file(rng)
    dirs = {"/", "/etc", "/home", HOME, f"{HOME}/archive", f"{HOME}/notes", f"{HOME}/logs", f"{HOME}/projects"}
    for path in files:
        parent = posixpath.dirname(path)
        while parent not in dirs:
            dirs.add(parent)
            parent = posixpath.dirname(parent)
    nodes = {p: {"type": "dir"} for p in dirs}
    nodes.update({p: {"type": "file", "content": c} for p, c in files.items()})
    return {"cwd": HOME, "home": HOME, "nodes": dict(sorted(nodes.items()))}


# -- scenarios: one user turn each -------------------------------------------------------------

def _tilde(path: str) -> str:
    """How the user names a path: relative to home with '~'."""
    return "~" + path[len(HOME):] if _within(path, HOME) else path


def _home_files(b: TaskBuilder, suffix: str = "") -> list[str]:
    return [p for p in _files_under(b.state, HOME) if p.endswith(suffix)]


def _home_dirs(b: TaskBuilder) -> list[str]:
    return [p for p in _subtree(b.state, HOME) if p != HOME and b.state["nodes"][p]["type"] == "dir"]


def _free_name(b: TaskBuilder, directory: str, pool: list[str]) -> str:
    free = [n for n in pool if posixpath.join(directory, n) not in b.state["nodes"]]
    return b.pick(free)


def _line(b: TaskBuilder) -> str:
    return " ".join(_words(b.rng, 2, 4))


def _unique_word_file(b: TaskBuilder, top: str, suffix: str = "") -> tuple[str, str]:
    """A word found (as a substring, like grep) in exactly one file under ``top``, and that file."""
    contents = {p: b.state["nodes"][p]["content"] for p in _files_under(b.state, top)}
    options = []
    for word in WORDS:
        holders = [p for p, content in contents.items() if word in content]
        if len(holders) == 1 and holders[0].endswith(suffix):
            options.append((word, holders[0]))
    return b.pick(options)


def _not_undone(b: TaskBuilder) -> bool:
    """A deletion that only removes what earlier turns created puts the world back as it began,
    and then doing nothing at all would pass the turn: drop such turns."""
    return b.state != b.initial


def _answer_listing(b: TaskBuilder, listing) -> None:
    for entry in listing["entries"]:
        b.answer(entry["name"])


def go_and_list(b: TaskBuilder) -> bool:
    """cd into a directory (the user stays there) and list it: depth 2."""
    directory = b.pick(d for d in _home_dirs(b) if _children(b.state, d) and d != b.state["cwd"])
    where = _tilde(directory)
    told = b.fact("folder", where, "The folder is {}.")
    b.say(b.pick(["I want to work in {} from now on: please go there and tell me what's in it.",
                  "Switch to {} (I'll stay there) and list everything it contains."]).format(where)
          if told else
          b.pick(["I want to work in another folder from now on: please go there and tell me what's in it.",
                  "Move me into one of my folders (I'll stay there) and list what it contains."]))
    moved = b.call("cd", path=where)
    _answer_listing(b, b.call("ls", path=moved["cwd"]))
    return True


def count_lines(b: TaskBuilder) -> bool:
    """wc on a named file: depth 1."""
    path = _tilde(b.pick(_home_files(b)))
    unit = b.pick(["lines", "words"])
    counted = b.call("wc", path=path)
    told = b.fact("file", path, "The file is {}.")
    b.say(f"How many {unit} are in {path}?" if told else f"How many {unit} does one of my files have?")
    b.answer(counted[unit])
    return True


def last_log_line(b: TaskBuilder) -> bool:
    """tail/head of a log: depth 1."""
    path = _tilde(b.pick(f for f in _home_files(b, ".log") if b.state["nodes"][f]["content"]))
    first = bool(b.rng.random() < 0.4)
    told = b.fact("log file", path, "The log file is {}.")
    b.say(f"What's the {'first' if first else 'last'} line of {path if told else 'one of my log files'}? "
          "Quote it exactly.")
    shown = b.call("head" if first else "tail", path=path, lines=1)
    b.answer(shown["lines"][0])
    return True


def backup_copy(b: TaskBuilder) -> bool:
    """cp next to the original as .bak, or into ~/archive: depth 1."""
    source = b.pick(_home_files(b))
    name = posixpath.basename(source)
    into_archive = b.rng.random() < 0.4 and f"{HOME}/archive" in b.state["nodes"]
    destination = "~/archive" if into_archive else _tilde(source) + ".bak"
    told = b.fact("file", _tilde(source), "The file is {}.")
    what = _tilde(source) if told else "one of my files"
    if into_archive:
        b.say(f"Put a backup copy of {what} into ~/archive, keeping the name {name}. ")
    else:
        b.say(f"Make a backup copy of {what} next to the original, named {name}.bak. ")
    b.call("cp", source=_tilde(source), destination=destination)
    return True


def write_in_new_dir(b: TaskBuilder) -> bool:
    """mkdir (maybe with parents) then write a file in it: depth 1, two calls."""
    parent = b.pick([HOME] + [d for d in _home_dirs(b) if posixpath.dirname(d) == f"{HOME}/projects"])
    directory = posixpath.join(parent, _free_name(b, parent, NEW_DIRS))
    nested = b.rng.random() < 0.3
    if nested:
        directory = posixpath.join(directory, b.pick(["2024", "v2", "inbox"]))
    name, content = b.pick(NEW_FILES), _line(b)
    where, path = _tilde(directory), _tilde(posixpath.join(directory, name))
    told = b.fact("content", content, 'The content is exactly "{}".')
    b.say(f"Create the folder {where} and, inside it, a file named {name} ")
    b.say(f'containing exactly "{content}".' if told else "with the content I'll give you.")
    b.call("mkdir", path=where, parents=nested)
    b.call("write_file", path=path, content=content)
    return True


def append_line(b: TaskBuilder) -> bool:
    """append_file to a note: depth 1."""
    path = _tilde(b.pick(f for f in _home_files(b) if f.endswith((".txt", ".md"))))
    line = _line(b)
    told = b.fact("line", line, 'The line is "{}".')
    if told:
        b.say(b.pick(['Add the line "{}" at the end of {}.', 'Append "{}" as a new last line of {}.'])
              .format(line, path))
    else:
        b.say(f"I'd like to add a line at the end of {path}; I'll tell you which.")
    b.call("append_file", path=path, text=line)
    return True


def write_here(b: TaskBuilder) -> bool:
    """write_file with a relative path: the result depends on the cwd: depth 1."""
    cwd = b.state["cwd"]
    if not _within(cwd, HOME):
        return False
    name, content = _free_name(b, cwd, NEW_FILES), _line(b)
    told = b.fact("content", content, 'The content is exactly "{}".')
    b.say(f"Right here in the folder I'm in, create a file named {name} ")
    b.say(f'containing exactly "{content}".' if told else "with the content I'll give you.")
    written = b.call("write_file", path=name, content=content)
    if b.rng.random() < 0.5:
        b.say(" Then tell me its full path.")
        b.answer(written["path"])
    return True


def rename_file(b: TaskBuilder) -> bool:
    """mv within the same directory: depth 1."""
    source = b.pick(_home_files(b))
    stem, dot, ext = posixpath.basename(source).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    new_name = f"{stem}-{b.pick(['final', 'v2', 'old', 'draft'])}{dot}{ext}"
    if posixpath.join(posixpath.dirname(source), new_name) in b.state["nodes"]:
        return False
    told = b.fact("file", _tilde(source), "The file is {}.")
    b.say(f"Rename {_tilde(source)} to {new_name}, same folder." if told
          else f"Please rename one of my files to {new_name}, keeping it in the same folder.")
    b.call("mv", source=_tilde(source), destination=_tilde(posixpath.join(posixpath.dirname(source), new_name)))
    return True


def disk_usage(b: TaskBuilder) -> bool:
    """du of a directory: depth 1."""
    directory = _tilde(b.pick(d for d in _home_dirs(b) if _files_under(b.state, d)))
    told = b.fact("folder", directory, "The folder is {}.")
    b.say(f"How many bytes do the files in {directory} take up altogether?" if told
          else "How many bytes do the files in one of my folders take up altogether?")
    b.answer(b.call("du", path=directory)["bytes"])
    return True


def remove_dir(b: TaskBuilder) -> bool:
    """rm -r of a folder that does not hold the cwd: depth 1."""
    directory = b.pick(d for d in _home_dirs(b) if not _within(b.state["cwd"], d)
                       and posixpath.basename(d) not in ("archive", "notes", "logs", "projects"))
    b.say(b.pick(["I don't need {} any more: delete it with everything inside.",
                  "Please remove the folder {} and all of its contents."]).format(_tilde(directory)))
    b.call("rm", path=_tilde(directory), recursive=True)
    return _not_undone(b)


def _extension_groups(b: TaskBuilder, low: int, high: int) -> list[tuple[str, str]]:
    """(directory, extension) pairs with ``low`` to ``high`` matching files below the directory."""
    groups = []
    for d in [HOME] + _home_dirs(b):
        for ext in (".log", ".csv", ".md", ".bak", ".txt"):
            if low <= len([f for f in _files_under(b.state, d) if f.endswith(ext)]) <= high:
                groups.append((d, ext))
    return groups


def delete_by_extension(b: TaskBuilder) -> bool:
    """find '*.ext' then rm each match: depth 2."""
    directory, ext = b.pick(g for g in _extension_groups(b, 1, 4) if g[0] != HOME)
    where = _tilde(directory)
    told = b.fact("folder", where, "The folder is {}.")
    b.say(f"Find every {ext} file under {where} (subfolders included) and delete them all." if told
          else f"Find every {ext} file under one of my folders (subfolders included) and delete them all.")
    found = b.call("find", path=where, name=f"*{ext}", type="file")
    for match in found["matches"]:
        b.call("rm", path=match["path"])
    if b.rng.random() < 0.5:
        b.say(" How many did you delete?")
        b.answer(found["count"])
        return True
    return _not_undone(b)


def gather_by_extension(b: TaskBuilder) -> bool:
    """mkdir a new folder, find '*.ext', mv each match into it: depth 2."""
    directory, ext = b.pick(_extension_groups(b, 2, 4))
    names = [posixpath.basename(f) for f in _files_under(b.state, directory) if f.endswith(ext)]
    if len(set(names)) != len(names):
        return False  # two files of one name would collide in the new folder
    target = posixpath.join(HOME, _free_name(b, HOME, [f"all-{ext[1:]}", f"{ext[1:]}-files", "collected"]))
    where = "my home folder" if directory == HOME else _tilde(directory)
    b.say(f"Make a new folder {_tilde(target)} and move every {ext} file found anywhere under {where} into it.")
    made = b.call("mkdir", path=_tilde(target))
    found = b.call("find", path=_tilde(directory), name=f"*{ext}", type="file")
    for match in found["matches"]:
        b.call("mv", source=match["path"], destination=made["path"])
    return True


def archive_by_word(b: TaskBuilder) -> bool:
    """grep for a word, mv the one file holding it into ~/archive (then maybe wc): depth 2-3."""
    archive = f"{HOME}/archive"
    if archive not in b.state["nodes"]:
        return False
    word, path = _unique_word_file(b, HOME)
    if _within(path, archive) or posixpath.join(archive, posixpath.basename(path)) in b.state["nodes"]:
        return False
    told = b.fact("word", word, 'The word is "{}".')
    b.say(f'Exactly one file in my home folder mentions "{word}". ' if told
          else "Exactly one file in my home folder mentions a certain word. ")
    b.say("Move that file into ~/archive.")
    found = b.call("grep", pattern=word, path="~")
    moved = b.call("mv", source=found["matches"][0]["path"], destination="~/archive")
    if b.rng.random() < 0.5:
        b.say(" And how many lines does it have?")
        b.answer(b.call("wc", path=moved["destination"])["lines"])
    return True


def visit_file_folder(b: TaskBuilder) -> bool:
    """find a uniquely named file, cd to its folder, list it: depth 3."""
    names = [posixpath.basename(p) for p in _subtree(b.state, HOME)]
    path = b.pick(f for f in _home_files(b) if names.count(posixpath.basename(f)) == 1
                  and posixpath.dirname(f) != b.state["cwd"])
    name = posixpath.basename(path)
    told = b.fact("file name", name, "The file is called {}.")
    b.say(f"Somewhere in my home folder there's a file called {name}. " if told
          else "I'm looking for a file somewhere in my home folder. ")
    b.say("Take me to the folder it is in (I'll keep working there) and list everything in that folder.")
    found = b.call("find", path="~", name=name)
    moved = b.call("cd", path=found["matches"][0]["dir"])
    _answer_listing(b, b.call("ls", path=moved["cwd"]))
    return True


def review_log_copy(b: TaskBuilder) -> bool:
    """grep a word in the logs, cp that log to ~/archive, append a note to the copy, wc it: depth 4."""
    archive, logs = f"{HOME}/archive", f"{HOME}/logs"
    if archive not in b.state["nodes"] or logs not in b.state["nodes"]:
        return False
    word, path = _unique_word_file(b, logs, ".log")
    if posixpath.join(archive, posixpath.basename(path)) in b.state["nodes"]:
        return False
    note = b.pick(NOTES)
    told = b.fact("word", word, 'The word is "{}".')
    b.say(f'One log file under ~/logs mentions "{word}". ' if told
          else "One log file under ~/logs mentions a word I have in mind. ")
    b.say(f'Copy that log into ~/archive, add the line "{note}" at the end of the copy '
          "(leave the original alone), and tell me how many lines the copy has then.")
    found = b.call("grep", pattern=word, path="~/logs")
    copied = b.call("cp", source=found["matches"][0]["path"], destination="~/archive")
    noted = b.call("append_file", path=copied["destination"], text=note)
    b.answer(b.call("wc", path=noted["path"])["lines"])
    return True


# User phrasings per tool for the synthesizer; the template rules are in rods_envs/synth/phrasing.py.
PHRASES = {
    "pwd": [
        "Which folder am I in right now? Please tell me the {field}.",
        "Could you print the {field} of this session?",
    ],
    "cd": [
        "Please go to {path}.",
        "Change into {path}, please.",
        "I want to work in {path} from now on.",
        "Please change directory (to my home directory if I haven't named a path).",
    ],
    "ls": [
        "In {path}, what is the {field} of {subject}?",
        "Looking at what's in {path}, could you tell me the {field} of {subject}?",
        "Listing this folder, what is the {field} of {subject}?",
    ],
    "cat": [
        "What is the {field} of {path}?",
        "Could you show me the {field} of {path}?",
        "Please read {path} and tell me its {field}.",
    ],
    "head": [
        "Among the first lines of {path}, what is {subject}?",
        "Taking the first {lines} line(s) of {path}, what is {subject}?",
        "Looking at the start of {path}, could you quote {subject}?",
    ],
    "tail": [
        "Among the last lines of {path}, what is {subject}?",
        "Taking the last {lines} line(s) of {path}, what is {subject}?",
        "Looking at the end of {path}, could you quote {subject}?",
    ],
    "wc": [
        "How many {field} does {path} have?",
        "Could you count the {field} in {path}?",
        "What is the number of {field} in {path}?",
    ],
    "find": [
        "If you search for {name} under {path}, what is the {field}?",
        "Looking only at entries of type {type} named {name}, what is the {field}?",
        "Among the entries under {path} named {name}, what is the {field} of {subject}?",
        "Searching for {name}, what is the {field} of {subject}?",
    ],
    "grep": [
        "If you search {path} for {pattern}, what is the {field}?",
        "Looking for lines that contain {pattern}, what is the {field}?",
        "Among the lines under {path} containing {pattern}, what is the {field} of {subject}?",
        "Searching for {pattern}, what is the {field} of {subject}?",
    ],
    "du": [
        "What is the {field} of {path}?",
        "How much disk space does {path} take? Please tell me the {field}.",
        "Could you check the {field} for {path}?",
        "Please check the disk usage and tell me the {field}.",
    ],
    "write_file": [
        "Please write {path} with exactly this content: {content} (and nothing else).",
        "Save {content} as the whole content of {path}, replacing whatever is there.",
        "Could you create {path} and put {content} in it as the only text?",
    ],
    "append_file": [
        "Please add the line {text} at the end of {path}.",
        "Append {text} to {path} as a new last line, please.",
        "At the bottom of {path}, could you add {text} as a new line?",
    ],
    "touch": [
        "Please create an empty file at {path}.",
        "Touch {path} for me, please.",
        "Make sure a file exists at {path}; if you create it, leave it empty.",
    ],
    "mkdir": [
        "Please create {path} as a new folder.",
        "Make a new directory at {path}.",
        "Could you make {path} a new directory (parents: {parents})?",
    ],
    "rm": [
        "Please delete {path}.",
        "I don't need {path} any more; please remove it.",
        "Remove {path}, please (recursive: {recursive}).",
    ],
    "mv": [
        "Please move {source} to {destination}.",
        "Could you move {source} over to {destination}?",
        "I'd like {source} moved to {destination}.",
    ],
    "cp": [
        "Please copy {source} to {destination}.",
        "Make a copy of {source} at {destination}.",
        "Could you duplicate {source} as {destination}?",
    ],
}

DOMAIN = Domain(
    name="files",
    description="A shell-like assistant in a virtual file system with a current directory: "
                "navigate, read, search, write, copy, move and delete files.",
    tools=TOOLS,
    make_world=make_world,
    scenarios=[go_and_list, count_lines, last_log_line, backup_copy, write_in_new_dir, append_line,
               write_here, rename_file, disk_usage, remove_dir, delete_by_extension,
               gather_by_extension, archive_by_word, visit_file_folder, review_log_copy],
    phrases=PHRASES,
)
