import sys

from unisel.cli import main

sys.exit(main())
