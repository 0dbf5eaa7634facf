"""Cookie sessions: one row per login, found by the SHA-256 of a random token.

Its own feature, as Django keeps ``contrib.sessions`` apart from ``contrib.auth``: ``auth``
(passwords, login, re-authentication) opens and rotates sessions through it, never the
reverse. The expiry rule lives once, in :mod:`sessionary.sessions.expiry`.
"""
