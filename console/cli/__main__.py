"""`python -m console.cli`: the same as the `eascmd` console script."""
import sys

from console.cli.main import main

sys.exit(main())
