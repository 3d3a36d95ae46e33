"""Reading XLA's optimised HLO text: which instructions do work on a buffer-sized array.

A helper of ``test_train_hlo.py`` (also imported by its multi-device subprocess).
"""

from __future__ import annotations

import re

# Opcodes that hold or pass on an array without touching its elements ...
PASS_THROUGH = {"parameter", "get-tuple-element", "bitcast", "tuple"}
# ... and those that write some of its elements in place (their cost is the update's size; where
# the operand could not be reused, XLA would have put a ``copy`` before them, which is reported).
IN_PLACE = {"dynamic-update-slice", "scatter"}


def _computations(hlo: str) -> dict[str, list[str]]:
    comps, current = {}, None
    for line in hlo.splitlines():
        head = re.match(r"^(?:ENTRY )?%?([\w.\-]+) \(.*\{\s*$", line)
        if head and not line.startswith(" "):
            current = comps.setdefault(head.group(1), [])
        elif line.startswith("}"):
            current = None
        elif current is not None and line.strip():
            current.append(line.strip())
    return comps


def _callees(line: str) -> list[str]:
    names = re.findall(r"(?:body|condition|calls|to_apply|true_computation|false_computation)=%([\w.\-]+)", line)
    branches = re.search(r"branch_computations=\{([^}]*)\}", line)
    return names + (re.findall(r"%([\w.\-]+)", branches.group(1)) if branches else [])


def buffer_sized_work(hlo: str, capacity: int) -> list[tuple[str, bool]]:
    """Instructions of the module whose result has a ``capacity``-long axis and that are not a
    pass-through or an in-place update (a fusion counts as in place when its root is one).
    Returns ``(instruction, in a while body)`` pairs."""
    comps = _computations(hlo)
    in_loop, stack = set(), [b for lines in comps.values() for l in lines for b in re.findall(r"body=%([\w.\-]+)", l)]
    while stack:
        name = stack.pop()
        if name in comps and name not in in_loop:
            in_loop.add(name)
            stack += [c for l in comps[name] for c in _callees(l)]
    roots = {name: next((l for l in lines if l.startswith("ROOT ")), "") for name, lines in comps.items()}
    found = []
    for name, lines in comps.items():
        for line in lines:
            m = re.match(r"(?:ROOT )?%[\w.\-]+ = \w+\[([\d,]*)\]\S* ([\w\-]+)\(", line)
            if not m or str(capacity) not in m.group(1).split(","):
                continue
            op = m.group(2)
            if op in PASS_THROUGH or op in IN_PLACE:
                continue
            if op == "fusion":
                called = re.search(r"calls=%([\w.\-]+)", line)
                root = roots.get(called.group(1), "") if called else ""
                if any(f" {o}(" in root for o in IN_PLACE):
                    continue
            found.append((line[:160], name in in_loop))
    return found
