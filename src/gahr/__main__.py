"""`python -m gahr` (used by `torchrun -m gahr train ...`)."""

import sys

from .cli import main

sys.exit(main())
