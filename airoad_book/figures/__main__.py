import sys

from airoad_book.figures.build import main

sys.exit(main())
