"""SPEC §8's targets, in one place, and the words a report gives each figure against them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A figure's floor and goal; ``higher`` says which way is better."""

    floor: float
    goal: float
    higher: bool = True

    def verdict(self, value: float) -> str:
        if self._meets(value, self.goal):
            return "meets the goal"
        return "meets the floor" if self._meets(value, self.floor) else "**below the floor**"

    def _meets(self, value: float, bound: float) -> bool:
        return value >= bound if self.higher else value <= bound

    def describe(self, unit: str = "") -> str:
        sign = "≥" if self.higher else "≤"
        if self.floor == self.goal:
            return f"{sign} {self.floor:g}{unit}"
        return f"{sign} {self.floor:g}{unit} (goal {self.goal:g}{unit})"


# Authenticated requests (session cookie and API key), req/s ratios in one run.
VS_RAW = Target(floor=0.60, goal=0.80)
VS_FASTAPI_USERS = Target(floor=3.0, goal=4.0)
# p50 with 1 000 000 stored sessions ÷ p50 with 10.
SESSION_COUNT = Target(floor=1.10, goal=1.10, higher=False)
# p99 of GET /users/me during a login burst ÷ idle.
BURST = Target(floor=3.0, goal=3.0, higher=False)
# The toolkit's per-test isolation overhead, ms.
ISOLATION_MS = Target(floor=5.0, goal=2.0, higher=False)
