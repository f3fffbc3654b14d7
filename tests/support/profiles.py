"""Hypothesis profiles: `dev` for `make test`, `thorough` (2,000 examples a test) for `make test-thorough` and CI.

Both keep the example database in .hypothesis/examples (git-ignored), so an input that failed once is replayed
first on every later run, whichever profile finds it. `pytest --hypothesis-profile=thorough` picks the other one.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / ".hypothesis" / "examples"

# What CI asks of every property: 2,000 examples (per command, in the command fuzz).
THOROUGH_EXAMPLES = 2000
# Enough that `make test` reaches every line the thorough run reaches (both print their coverage: compare them
# before lowering it), few enough that the command fuzz takes a minute, not ten.
DEV_EXAMPLES = 200


def register() -> None:
    """Register both profiles and load `dev`; the hypothesis plugin then loads --hypothesis-profile if given."""
    common = {
        "database": DirectoryBasedExampleDatabase(EXAMPLES_DIR),
        "deadline": None,  # two cores shared with other runs: wall-clock deadlines would only be noise
        "print_blob": True,  # a failure prints the @reproduce_failure line that replays it anywhere
        "suppress_health_check": [HealthCheck.too_slow],
    }
    settings.register_profile("dev", max_examples=DEV_EXAMPLES, **common)
    settings.register_profile("thorough", max_examples=THOROUGH_EXAMPLES, **common)
    settings.load_profile("dev")
