"""sessionary.testing: a pytest plugin for real-database integration tests.

Registered through the ``pytest11`` entry point; nothing to import for the
fixtures. This module exports the names a test author may want to import.
"""

from sessionary.testing.factories import DEFAULT_PASSWORD
from sessionary.testing.isolation import IsolatedDatabase

__all__ = ["DEFAULT_PASSWORD", "IsolatedDatabase"]
