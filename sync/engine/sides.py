"""The vocabulary of sides and directions, in one place.

A connection joins side ``"a"`` and side ``"b"``. Values flow in a *direction*:
``"a_to_b"`` (from A, written to B) or ``"b_to_a"``. A connection syncs ``TWO_WAY`` or one
way (its direction is one of the two); a field pair flows ``BOTH`` ways or one way. The
two "both ways" words are stored values (``Connection.direction`` and
``FieldMapping.direction``) and stay as they are; every conversion between a side and a
direction is one of the functions below.
"""

from __future__ import annotations

from typing import Literal

Side = Literal["a", "b"]
Direction = Literal["a_to_b", "b_to_a"]

A: Side = "a"
B: Side = "b"
SIDES: tuple[str, str] = ("a", "b")  # plain str: dicts keyed by side are dict[str, ...]
DIRECTIONS: tuple[Direction, Direction] = ("a_to_b", "b_to_a")
A_TO_B: Direction = "a_to_b"
B_TO_A: Direction = "b_to_a"
TWO_WAY = "two_way"  # Connection.direction: both directions sync
BOTH: Literal["both"] = "both"  # FieldMapping.direction / Pair.direction: the pair flows both ways


def other(side: str) -> Side:
    """The side across from ``side``."""
    return "b" if side == "a" else "a"


def direction_from(source: str) -> Direction:
    """The direction values flow when they go from ``source`` to the other side."""
    return "a_to_b" if source == "a" else "b_to_a"


def direction_into(target: str) -> Direction:
    """The direction whose writes land on ``target``."""
    return "a_to_b" if target == "b" else "b_to_a"


def source_of(direction: str) -> Side:
    """The side a direction reads from."""
    return "a" if direction == "a_to_b" else "b"


def target_of(direction: str) -> Side:
    """The side a direction writes to (where its events happen)."""
    return "b" if direction == "a_to_b" else "a"
