"""One error type for everything a user can get wrong: it names the cause and the fix."""


class PrepError(Exception):
    """An error the user can act on. ``cause`` says what is wrong, ``fix`` what to do."""

    exit_code = 2

    def __init__(self, cause: str, fix: str | None = None):
        super().__init__(cause)
        self.cause = cause
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.cause}\n  fix: {self.fix}" if self.fix else self.cause
