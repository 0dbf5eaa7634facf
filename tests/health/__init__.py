"""A package, so this directory's test_router.py does not clash with tests/users/test_router.py."""
