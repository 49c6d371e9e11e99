"""Challenge authoring errors; `str()` names the file, key, column or row at fault."""


class ChallengeError(Exception):
    """Root of the authoring errors."""
