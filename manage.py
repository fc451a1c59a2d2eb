#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    from django.core.management import execute_from_command_line

    from chatsite import rls

    # Management commands (migrate, seed, shell) act as the service role.
    with rls.acting_as_service():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
