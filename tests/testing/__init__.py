"""Tests of the sessionary.testing plugin itself: its kernel directly, and the plugin end to end
through pytester runs in subprocesses."""
