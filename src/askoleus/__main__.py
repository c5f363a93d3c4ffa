"""`python -m askoleus …` is the `askoleus` command."""

from askoleus.cli import main

main()
