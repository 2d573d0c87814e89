"""Load tester: real protocol clients, an absolute-time send schedule, exact loss counting.

`chatserver loadtest --help` lists every option; docs/benchmarks.md has the scenarios.
"""

from chatserver.loadtest.command import main
from chatserver.loadtest.options import add_arguments

__all__ = ["add_arguments", "main"]
