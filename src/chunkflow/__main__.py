import sys

from chunkflow.cli import main

if __name__ == "__main__":
    sys.exit(main())
