"""`python -m agekit.cli ...` runs the `agekit` command line."""

import sys

from agekit.cli import main

sys.exit(main())
