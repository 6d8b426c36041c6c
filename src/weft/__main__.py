"""`python -m weft` runs the command line."""

from weft.cli import app

app()
