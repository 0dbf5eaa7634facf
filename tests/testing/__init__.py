"""Tests of the sessionary.testing plugin itself, through pytester runs in subprocesses."""
