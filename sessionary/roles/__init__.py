"""Roles and the permission catalogue."""
