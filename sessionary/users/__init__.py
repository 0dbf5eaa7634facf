"""Users: accounts, profiles and the seed-compatible views."""
