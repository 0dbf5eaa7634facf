"""Mail: messages from templates, three backends, delivery after the transaction commits.

``service.Mail`` (``runtime.mail``) is what a flow uses: ``compose()`` a message from a
template by name, ``schedule(db, message)`` it for after the commit. ``message.link()``
builds the links the mails carry. It imports only core, config, errors and clock.
"""
