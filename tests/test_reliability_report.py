"""docs/RELIABILITY.md is written by the test run: rows of the tests that ran are replaced,
the others kept; a row shows the cases a test generated."""

from __future__ import annotations

from reliability_report import write_report

MARK = {"area": "model files", "fault": "crafted files", "how": "deltanet.load",
        "result": "ModelFileError"}


def test_a_report_keeps_the_rows_of_tests_that_did_not_run(tmp_path):
    path = tmp_path / "R.md"
    write_report(path, {"tests/test_a.py::test_one": ([MARK], True, 120),
                        "tests/test_b.py::test_two[x]": ([{**MARK, "area": "data"}], True,
                                                        None),
                        "tests/test_b.py::test_two[y]": ([{**MARK, "area": "data"}], False,
                                                        None)})
    first = path.read_text(encoding="utf-8")
    assert "| model files | crafted files | deltanet.load | ✅ ModelFileError (120 generated " \
           "cases) | `tests/test_a.py::test_one` |" in first
    assert "❌ FAILED (1/2 cases) | `tests/test_b.py::test_two` |" in first
    write_report(path, {"tests/test_a.py::test_one": ([MARK], True, 130)})
    second = path.read_text(encoding="utf-8")
    assert "(130 generated cases)" in second and "(120 generated cases)" not in second
    assert "`tests/test_b.py::test_two` |" in second  # kept as it was
    assert sum(line.endswith("` |") for line in second.splitlines()) == 2
