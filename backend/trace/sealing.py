"""How a trace entry's hash commits to its words, so that a person can be pseudonymised without
breaking the chain.

An entry written since version 2 has a random salt; its hash covers, instead of each string it
holds (the actor's name, every string in its data), a commitment: SHA-256 of the salt, the
string's path and the string. Pseudonymising a person replaces a string that names them by a
marker (`⟦…⟧`) and keeps the original's commitment in the entry's `sealed` map, so the hash still
verifies. Verification accepts a kept commitment only where the string is now a marker: an entry
can lose names, never be rewritten.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator

MARKER = re.compile(r"^⟦[^⟧]*⟧$")
ACTOR = "actor"


def new_salt() -> str:
    return secrets.token_hex(16)


def commitment(salt: str, path: str, value: str) -> str:
    return hashlib.sha256(f"{salt}|{path}|{value}".encode()).hexdigest()


def sealed_label(label: str, salt: str, sealed: dict[str, str]) -> str:
    return sealed.get(ACTOR) or commitment(salt, ACTOR, label)


def sealed_data(node, salt: str, sealed: dict[str, str], path: str = "data"):
    """`node` with every string replaced by its commitment (the kept one where it was pseudonymised)."""
    if isinstance(node, str):
        return sealed.get(path) or commitment(salt, path, node)
    if isinstance(node, dict):
        return {key: sealed_data(value, salt, sealed, f"{path}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [sealed_data(value, salt, sealed, f"{path}[{n}]") for n, value in enumerate(node)]
    return node


def strings(node, path: str = "data") -> Iterator[tuple[str, str]]:
    """Every (path, string) of `node`, in the same paths as `sealed_data`."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from strings(value, f"{path}[{n}]")


def replace(node, path: str, value: str, here: str = "data"):
    """A copy of `node` with the string at `path` replaced by `value`."""
    if here == path:
        return value
    if isinstance(node, dict):
        return {key: replace(item, path, value, f"{here}.{key}") for key, item in node.items()}
    if isinstance(node, list):
        return [replace(item, path, value, f"{here}[{n}]") for n, item in enumerate(node)]
    return node


def seals_hold(label: str, data, sealed: dict[str, str]) -> bool:
    """Every kept commitment stands for a string that is now a marker."""
    current = dict(strings(data))
    current[ACTOR] = label
    return all(path in current and MARKER.match(current[path]) for path in sealed)


def canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
