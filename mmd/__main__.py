import sys

from mmd.cli import main

sys.exit(main())
