"""Writes docs/RELIABILITY.md from the tests marked ``@pytest.mark.reliability``."""

from __future__ import annotations

import datetime
from pathlib import Path

HEADER = """# Reliability: faults and bad input tried

Every row is a test in `tests/` marked `@pytest.mark.reliability`; this file is written by
the test run itself:

```bash
.venv/bin/python -m pytest -m reliability -p no:xdist --reliability-report=docs/RELIABILITY.md
```

(with `=`: written as two words, the path of an existing report would be taken for a test
path, and the option, defined in `tests/conftest.py`, would not be known.)

(`make test` runs the same tests as part of the whole suite.) Longer fuzzing, now and then:
`.venv/bin/python -m pytest tests/test_fuzz.py tests/test_reliability_files.py
--fuzz-budget 200000` (200,000 mutated files per reader in the first, 40,000 in the second).

| area | fault or bad input | how it is tried | result | test |
| --- | --- | --- | --- | --- |
"""


def row_lines(base: str, marks: list[dict], cases: int, passed: int,
              generated: int | None = None) -> list[str]:
    """The table lines of one test function: parametrized cases counted together, and the
    cases a test generated itself (``generated``, see the ``family_cases`` fixture)."""
    ok = passed == cases
    if generated is not None:
        count = f" ({generated:,} generated cases)"
    else:
        count = f" ({passed}/{cases} cases)" if cases > 1 else ""
    return [f"| {m['area']} | {m['fault']} | {m['how']} | "
            f"{'✅' if ok else '❌'} {m.get('result', 'handled as described') if ok else 'FAILED'}"
            f"{count} | `{base}` |" for m in marks]


def _kept_rows(path: Path, ran: set[str]) -> list[str]:
    """Rows of an existing report for tests that did not run this time (kept as they are)."""
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and line.endswith("` |") and "`tests/" in line
            and line.rsplit("`", 2)[-2] not in ran]


def write_report(path: str | Path, rows: dict) -> None:
    """One line per test function (parametrized cases are counted together); rows of tests
    that did not run this time are kept from the existing report."""
    grouped: dict[str, list] = {}
    for nodeid, (marks, ok, generated) in rows.items():
        base = nodeid.split("[", 1)[0]
        entry = grouped.setdefault(base, [marks, 0, 0, None])
        entry[1] += 1
        entry[2] += int(ok)
        if generated is not None:
            entry[3] = (entry[3] or 0) + generated
    lines = _kept_rows(Path(path), set(grouped))
    for base, (marks, cases, passed, generated) in grouped.items():
        lines += row_lines(base, marks, cases, passed, generated)
    lines.sort(key=lambda line: (line.split(" | ")[0], line.rsplit("`", 2)[-2], line))
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = HEADER + "\n".join(lines) + f"\n\n{len(lines)} faults tried; written {stamp}.\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
