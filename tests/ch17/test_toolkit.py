"""The toolkit as a user imports it: its public names, and no pytest in the runtime."""

import subprocess
import sys

import coro.testing


def test_the_toolkit_names_what_it_gives():
    for name in coro.testing.__all__:
        assert getattr(coro.testing, name).__module__.startswith(("coro.testing", "coro.io"))


def test_importing_the_toolkit_imports_no_pytest():
    # Only the plugin imports pytest, and pytest loads it: the runtime needs none.
    found = subprocess.run([sys.executable, "-c", "import sys, coro.testing; "
                            "print('pytest' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert found.stdout == "False\n"
