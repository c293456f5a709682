"""LangChain tools for billing: the toolkit, the tool class and the guarded call pipeline.

Example:
    >>> from agent_billing.tools import BillingToolkit
"""

from agent_billing.tools.tool import BillingTool
from agent_billing.tools.toolkit import BillingToolkit, CustomAction

__all__ = ["BillingTool", "BillingToolkit", "CustomAction"]
