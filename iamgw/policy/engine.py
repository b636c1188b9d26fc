"""Placeholder, replaced below."""


class Engine:
    pass
