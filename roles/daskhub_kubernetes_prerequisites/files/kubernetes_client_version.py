"""Prints the version of the Python kubernetes client installed for this interpreter; exit 1 when it has none.

Run by the role's python_client.yml with the interpreter kubernetes.core's
modules run on. It reads the package's metadata: importing the client
itself takes about a second, and kubernetes.core imports it anyway.
"""

import sys
from importlib import metadata

try:
    print(metadata.version("kubernetes"))
except metadata.PackageNotFoundError:
    sys.exit(f"{sys.executable} has no kubernetes package")
