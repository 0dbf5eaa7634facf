"""Notes: the example domain resource, with object-level authorization."""
