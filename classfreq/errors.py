"""The one exception users see: a sentence that says what is wrong and how to fix it."""


class UserError(Exception):
    """A bad argument, file or input. The CLI prints its message alone, without a traceback."""
