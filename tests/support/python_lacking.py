"""An interpreter that lacks one module, for the code that probes interpreters (python_probe.run).

Run as ``python -I python_lacking.py MODULE -c SOURCE [ARG ...]``, it makes
MODULE unimportable (a None in sys.modules, which import refuses) and runs
SOURCE as ``python -c SOURCE ARG ...`` would: in a module named __main__,
with sys.argv ``["-c", ARG, ...]``. A shell wrapper makes it the interpreter
the probe is given: ``exec python -I python_lacking.py MODULE "$@"`` with the
probe's own ``-I`` dropped.
"""

from __future__ import annotations

import sys
import types

if __name__ == "__main__":
    missing, flag, source, *arguments = sys.argv[1:]
    assert flag == "-c", f"expected -c SOURCE, got {flag!r}"
    sys.modules[missing] = None
    sys.argv = ["-c", *arguments]
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    exec(compile(source, "<string>", "exec"), main.__dict__)  # noqa: S102  the probe's source, as python -c runs it
