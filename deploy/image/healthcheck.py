#!/opt/weft/bin/python
"""The image's HEALTHCHECK: exit 0 when this container's /readyz answers 200."""

import os
import sys
import urllib.request

PORT = os.environ.get("WEFT_PORT", "8000")

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception as error:  # refused, 503 (database down), timeout: all mean not ready
    print(f"weft-healthcheck: not ready: {error}", file=sys.stderr)
    sys.exit(1)
