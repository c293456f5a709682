"""Import time of ``agent_billing`` against ``from langchain_core.tools import BaseTool``, in fresh interpreters.

Run: python benchmarks/import_time.py [--rounds N]

Each statement runs in a new ``python -c`` process, interleaved round by round, so the ratios compare
like with like on a noisy machine; the interpreter's own start-up (``pass``) is measured too and
subtracted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "python -c pass (start-up)": "pass",
    "from langchain_core.tools import BaseTool (baseline)": "from langchain_core.tools import BaseTool",
    "import agent_billing": "import agent_billing",
    "from agent_billing import BillingClient": "from agent_billing import BillingClient",
    "from agent_billing import BillingToolkit": "from agent_billing import BillingToolkit",
}


def once(statement: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default 15); medians are reported")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.rounds):
        for name, statement in STATEMENTS.items():
            samples[name].append(once(statement))
    startup = statistics.median(samples["python -c pass (start-up)"])
    baseline = statistics.median(samples["from langchain_core.tools import BaseTool (baseline)"]) - startup
    print("| import | median (start-up subtracted) | vs langchain_core BaseTool |")
    print("|---|---:|---:|")
    for name in list(STATEMENTS)[1:]:
        cost = statistics.median(samples[name]) - startup
        print(f"| `{STATEMENTS[name]}` | {cost * 1000:,.0f} ms | {cost / baseline:.2f}x |")


if __name__ == "__main__":
    main()
