"""`python -m connector` runs the `tracespace` command line."""

from connector.cli import main

main()
