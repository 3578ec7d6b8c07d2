"""The one exception type whose message is meant for the user, not the developer."""


class UserInputError(ValueError):
    """Bad input from the user: the CLI prints the message on one line and exits 2."""
