"""Compatibility modules put on sys.path of custom Python processor workers."""
