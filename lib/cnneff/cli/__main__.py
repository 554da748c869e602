"""``python -m cnneff.cli``: the ``cnneff`` command."""
import sys

from . import main

sys.exit(main())
