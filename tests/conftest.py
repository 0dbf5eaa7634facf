"""Shared by the whole suite: pytester runs the plugin in inner pytest sessions."""

pytest_plugins = ["pytester"]
