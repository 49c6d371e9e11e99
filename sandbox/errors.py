"""Infrastructure failures of the sandbox; a notebook's own failure is a RunResult, not this."""


class SandboxError(Exception):
    """The sandbox could not run a notebook at all (engine down, image missing, ...)."""
