import sys

from airoad_book.cli import main

sys.exit(main())
