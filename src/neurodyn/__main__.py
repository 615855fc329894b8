"""`python -m neurodyn`: the `neurodyn` command, for an environment without its script on PATH."""

import sys

from neurodyn.cli import main

sys.exit(main())
