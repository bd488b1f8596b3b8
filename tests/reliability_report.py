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


def write_report(path: str | Path, rows: dict) -> None:
    """One line per test function (parametrized cases are counted together)."""
    grouped: dict[str, list] = {}
    for nodeid, (marks, ok) in rows.items():
        base = nodeid.split("[", 1)[0]
        entry = grouped.setdefault(base, [marks, 0, 0])
        entry[1] += 1
        entry[2] += int(ok)
    lines = []
    for base, (marks, cases, passed) in sorted(grouped.items(),
                                               key=lambda kv: (kv[1][0][0]["area"], kv[0])):
        ok = passed == cases
        count = f" ({passed}/{cases} cases)" if cases > 1 else ""
        for m in marks:
            result = m.get("result", "handled as described") if ok else "FAILED"
            lines.append(f"| {m['area']} | {m['fault']} | {m['how']} | "
                         f"{'✅' if ok else '❌'} {result}{count} | `{base}` |")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = HEADER + "\n".join(lines) + f"\n\n{len(lines)} faults tried; written {stamp}.\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
