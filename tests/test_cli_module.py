"""``python -m deltanet`` runs the same command line as the ``deltanet`` console script."""

import subprocess
import sys


def test_python_m_deltanet_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "deltanet", "datasets"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "digits" in done.stdout


def test_python_m_deltanet_reports_bad_input_in_one_line():
    done = subprocess.run([sys.executable, "-m", "deltanet", "info", "no-such-model.deltanet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
