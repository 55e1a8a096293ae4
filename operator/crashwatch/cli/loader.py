"""Reading snapshots: JSON or YAML (multi-document too), ``kubectl get -o json`` Lists
or single objects, from files or standard input."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import yaml


class SnapshotError(Exception):
    """Input that cannot be read as Kubernetes objects; the message is one line for a user."""


def _flatten(doc: Any, where: str) -> Iterator[dict[str, Any]]:
    """Objects from a document: Lists (``items``) are expanded, recursively."""
    if doc is None:
        return
    if not isinstance(doc, dict):
        found = type(doc).__name__
        raise SnapshotError(f"{where}: expected a Kubernetes object or List, found {found}")
    items = doc.get("items")
    is_list = str(doc.get("kind", "List")).endswith("List")
    if isinstance(items, list) and is_list:
        for item in items:
            if isinstance(item, dict):
                yield from _flatten(item, where)
        return
    yield doc


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: a parse builds millions of dicts and lists, all
    of them reachable (JSON and YAML build trees, no cycles), and the collector would walk
    the growing heap again and again (three quarters of the time of parsing a 10,000-pod
    dump: bench/bench_diagnose.py)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _parse(text: str, where: str) -> list[Any]:
    stripped = text.lstrip()
    if not stripped:
        raise SnapshotError(f"{where}: empty input, no Kubernetes objects")
    if stripped[0] in "{[":
        try:  # one JSON document, the common case: orjson, several times faster
            return [orjson.loads(text)]
        except orjson.JSONDecodeError:
            pass  # several documents, NaN, or not JSON: the standard library says which
        try:
            decoder = json.JSONDecoder()
            docs: list[Any] = []
            pos = len(text) - len(stripped)
            while pos < len(text):
                doc, end = decoder.raw_decode(text, pos)
                docs.append(doc)
                pos = end
                while pos < len(text) and text[pos].isspace():
                    pos += 1
            return docs
        except json.JSONDecodeError as err:
            json_error = f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        else:  # pragma: no cover
            json_error = ""
    else:
        json_error = ""
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there
        return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise SnapshotError(f"{where}: {json_error or f'invalid YAML{at}: {problem}'}") from None


def load_objects(path: str) -> list[dict[str, Any]]:
    """All Kubernetes objects in one file (``-`` for standard input)."""
    where = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            raw = Path(path).read_bytes()
            text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise SnapshotError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise SnapshotError(f"{where}: is a directory, expected a JSON or YAML file") from None
    except PermissionError:
        raise SnapshotError(f"{where}: permission denied") from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{where}: not a text file (expected JSON or YAML)") from None
    except OSError as err:
        raise SnapshotError(f"{where}: cannot read: {err.strerror or err}") from None
    with gc_paused():
        docs = _parse(text, where)
    objects = [obj for doc in docs for obj in _flatten(doc, where)]
    if not docs:
        raise SnapshotError(f"{where}: no Kubernetes objects found")
    return objects
