#!/usr/bin/env python3
"""Publish patient leaflets: see README.md, or run `generate.py --help`."""

import sys

from leafpress.cli import main

if __name__ == "__main__":
    sys.exit(main())
