"""Argument models of 10ex's payments API (read-only: reads, cursor pages, and the billing-portal session).

Field names are snake_case on the wire as in Python (10ex's backend is a Python service; its schema
field names are not public, see ``operations.py``). Unknown fields are refused before any request.

Example:
    >>> LedgerPageArgs(limit=200, cursor="c_abc").model_dump(exclude_none=True)
    {'limit': 200, 'cursor': 'c_abc'}
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,100}$", strip_whitespace=True)]
Cursor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_=-]{1,500}$", strip_whitespace=True)]


class Args(BaseModel):
    """Base of every argument model: unknown fields refused.

    Example:
        >>> Args.model_config["extra"]
        'forbid'
    """

    model_config = ConfigDict(extra="forbid")


class NoArgs(Args):
    """No arguments.

    Example:
        >>> NoArgs().model_dump()
        {}
    """


class PageArgs(Args):
    """One cursor page: ``?limit=`` (1 to 200) ``&cursor=`` (the previous page's ``next_cursor``).

    The default is 20, not 10ex's 50: a tool result shows at most 20 items of a list, so a larger page
    walked through a tool would skip the items past the 20th when the agent follows ``next_cursor``.

    Example:
        >>> PageArgs().limit
        20
    """

    limit: Annotated[int, Field(ge=1, le=200, description="items per page, 1 to 200 (default 20; through a tool "
                                                          "keep it at 20 or less: results show 20 items at most)")] = 20
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page; omit for the first page")


class LedgerPageArgs(PageArgs):
    """One page of the credit ledger, optionally for one agent.

    Example:
        >>> LedgerPageArgs(agent_id="agt_research").agent_id
        'agt_research'
    """

    agent_id: Identifier | None = Field(None, description="only this agent's entries")


class InvoiceArgs(Args):
    """One invoice.

    Example:
        >>> InvoiceArgs(invoice_id="in_123").invoice_id
        'in_123'
    """

    invoice_id: Identifier = Field(description="an id from invoices action=list")


class AgentArgs(Args):
    """One agent of the workspace.

    Example:
        >>> AgentArgs(agent_id="agt_support").agent_id
        'agt_support'
    """

    agent_id: Identifier = Field(description="an agent id from usage action=get")


class PortalArgs(Args):
    """A billing-portal session; ``return_url`` is where the portal sends the admin back.

    Example:
        >>> PortalArgs().return_url is None
        True
    """

    return_url: Annotated[str, StringConstraints(pattern=r"^https?://\S{1,2000}$")] | None = Field(
        None, description="http(s) URL the portal returns the admin to")
