"""Authentication: logins, cookie sessions and the principal behind a request."""
