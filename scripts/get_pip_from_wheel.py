"""pip from the wheel beside this file, for ansible-test (scripts/run_ansible_test.py copies it into its cache).

ansible-test bootstraps pip in each virtual environment it makes by running
``get_pip_<version>.py [pip options] pip==<version> --no-setuptools
--no-wheel`` from ``~/.ansible/test/cache/``, and would download that
script from the internet when it is not there. This one stands in for it:
its own name says the version (``get_pip_25_2.py``: pip 25.2), and the
wheel ``pip-<version>-py3-none-any.whl`` beside it, from PyPI, installs it.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = os.path.splitext(os.path.basename(__file__))[0].removeprefix("get_pip_").replace("_", ".")
WHEEL = os.path.join(HERE, f"pip-{VERSION}-py3-none-any.whl")
sys.path.insert(0, WHEEL)

from pip._internal.cli.main import main  # noqa: E402

# get-pip's own flags; the wheel's pip installs only what is named.
arguments = [argument for argument in sys.argv[1:] if argument not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--no-index", "--find-links", HERE, *arguments]))
