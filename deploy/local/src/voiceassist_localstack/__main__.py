"""`python -m voiceassist_localstack` runs the `voiceassist-local` command line."""

import sys

from voiceassist_localstack.cli import main

sys.exit(main())
