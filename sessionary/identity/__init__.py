"""The identity kernel: who is calling and what they may do.

It imports only the domain-free modules (``core``, ``config``, ``errors``, ``clock``); every
feature imports it, never the reverse. A credential feature (``sessions``: the cookie,
``api_keys``: the bearer key) owns its query and plugs a resolver in
(:mod:`sessionary.identity.credentials`).
"""
