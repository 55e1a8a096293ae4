import sys

from crashwatch.cli import main

sys.exit(main())
