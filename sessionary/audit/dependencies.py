"""Moved to :mod:`sessionary.identity.origin`; these names stay for one release."""

from sessionary.identity.origin import RequestOrigin, request_origin

__all__ = ["RequestOrigin", "request_origin"]
