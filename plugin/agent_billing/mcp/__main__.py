"""``python -m agent_billing.mcp [options]``: the same as ``agent-billing mcp [options]``."""

import sys

from agent_billing.mcp.command import main

if __name__ == "__main__":
    sys.exit(main())
