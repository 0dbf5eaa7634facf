"""Domain-free building blocks: database, security, HTTP guards. Imports no feature."""
