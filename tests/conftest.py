"""Shared by the whole suite: pytester runs the plugin in inner pytest sessions."""

# Imported before any test: pytester restores sys.modules after each test, and a
# compiled driver imported a second time into the same process can crash it.
import aiosqlite  # noqa: F401
import asyncpg  # noqa: F401

pytest_plugins = ["pytester"]
