"""``python -m geomap`` runs the command line."""

from .cli import main

main()
