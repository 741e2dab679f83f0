"""`python -m plaza.cli` is the `plaza` command."""

import sys

from plaza.cli import main

sys.exit(main())
