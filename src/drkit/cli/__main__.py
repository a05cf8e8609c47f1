"""`python -m drkit.cli`: the drkit command from this checkout, whichever drkit the console script imports."""

from drkit.cli import main

main()
