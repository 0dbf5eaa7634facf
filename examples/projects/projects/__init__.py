"""Projects: a small app built on Sessionary, as an app developer would build one."""
