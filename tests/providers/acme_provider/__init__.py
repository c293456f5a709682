"""Acme: a small billing provider that exists only in the test suite, installed through the entry point.

It proves that a provider is a package: nothing outside this directory names it. ``README.md`` here is
the developer guide for adding a provider.

Example:
    >>> PROVIDER.handoff.call(), PROVIDER.title
    ('credits action=checkout', 'Acme')
"""

from agent_billing.provider import HandOff, Provider

PROVIDER = Provider(
    name="acme",
    package=__name__,
    title="Acme",
    handoff=HandOff(group="credits", action="checkout"),
    receipt_fields=("receipt_number",),
)
