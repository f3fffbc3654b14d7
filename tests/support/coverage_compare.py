"""`python -m tests.support.coverage_compare DEV THOROUGH`: both runs' line coverage, and the lines only one reached.

.ci/run calls it after `make test` and `make test-thorough`: the dev profile's example counts are chosen so that
`make test` reaches every line the thorough run does; lines listed under "only the thorough run" say to raise them.
`make test-thorough` re-runs only the tests that draw examples (the others run exactly as in `make test`), so the
thorough run's coverage is its own data together with `make test`'s: equal to `make test`'s when nothing is
listed.
"""

from __future__ import annotations

import sys

from coverage import Coverage, CoverageData


def _lines(path: str) -> dict[str, set[int]]:
    data = CoverageData(basename=path)
    data.read()
    return {name: set(data.lines(name) or ()) for name in data.measured_files()}


def _percent(*paths: str) -> float:
    """Line coverage of the runs in ``paths`` taken together."""
    coverage = Coverage(data_file=paths[0], data_suffix=False)  # these files, not a parallel run's pieces
    coverage.load()
    for other in paths[1:]:
        data = CoverageData(basename=other)
        data.read()
        coverage.get_data().update(data)
    return coverage.report(file=_Discard(), ignore_errors=True)  # a file gone since: not this report's business


class _Discard:
    def write(self, text: str) -> int:
        return len(text)


def main(dev: str, thorough: str) -> int:
    print(f"line coverage: make test {_percent(dev):.2f} %, make test-thorough {_percent(dev, thorough):.2f} %")
    ran = {"make test": _lines(dev), "the thorough run": _lines(thorough)}
    for (name, lines), other in zip(ran.items(), reversed(ran.values()), strict=True):
        only = {path: sorted(hit - other.get(path, set())) for path, hit in lines.items()}
        only = {path: numbers for path, numbers in only.items() if numbers}
        print(f"lines only {name} reached: {sum(map(len, only.values()))}")
        for path, numbers in sorted(only.items()):
            print(f"  {path}: {', '.join(map(str, numbers))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
