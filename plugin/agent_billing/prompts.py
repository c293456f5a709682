"""System prompts that teach an agent its provider's billing tools and the safety rules, in English or Chinese.

Each prompt is a Markdown template in ``prompts/`` (``<variant>.<language>.md``), one set for every
provider, with ``string.Template`` placeholders. What differs between providers is the provider's
:class:`PromptFacts`, declared in its package's ``prompt`` module as ``FACTS`` (what
the account holds, how to check an unknown outcome, its own rules, its tool map, how a person pays or
changes the plan in each variant). The payment-path rules are rendered from
:data:`agent_billing.advisor.RULES` and the paths in calls from the provider's declaration
(``Registry.advisor``), so the prompt and the ``payment_path`` advisor cannot disagree; the spending
limits come from the deployer's :class:`~agent_billing.guardrails.mandate.Mandate`.

A template block between ``<!-- if paths -->`` (or ``money``) and ``<!-- end -->`` is kept only for a
provider that declares payment paths (or has operations that move money): a read-only provider's
prompt has no spending policy and no payment rules. A list item that is only a placeholder
(``7. $rules``) becomes one item per fact line, and numbered lists are numbered after rendering.

Variants:

- ``system``: the general billing agent (paths, safety rules, tool map);
- ``chatbot``: relays links to a person in a chat;
- ``voice``: speaks to a caller; never reads URLs aloud;
- ``autonomous``: runs under a mandate with nobody present.

Example:
    >>> from agent_billing.guardrails.mandate import Mandate
    >>> prompt = load_prompt("autonomous", product_name="Example Co", mandate=Mandate(max_per_charge="50"))
    >>> "$50.00 per charge" in prompt
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from string import Template
from types import MappingProxyType
from typing import Literal, get_args

from agent_billing.advisor import render_in_calls, render_rules
from agent_billing.guardrails.mandate import Mandate
from agent_billing.provider import get_provider
from agent_billing.registry import Registry, get_registry
from agent_billing.resources import data_path

Variant = Literal["system", "chatbot", "voice", "autonomous"]
Language = Literal["en", "zh"]
Text = Mapping[str, str]
Items = Mapping[str, Sequence[str]]

VARIANTS: tuple[str, ...] = get_args(Variant)
LANGUAGES: tuple[str, ...] = get_args(Language)
ADVISOR_TOOL = "payment_path"
NONE: Text = MappingProxyType({"en": "", "zh": ""})

_NO_MANDATE = {
    "en": "No spending mandate is set, so every money-moving call needs a person's approval first.",
    "zh": "未设置支出授权（mandate），因此每一个涉及资金的调用都必须先经人批准。",
}
_TOOLS_LINE = {
    "en": "Your billing tools here: {names}. If a step needs a tool not in this list, say so; do not improvise.",
    "zh": "此处可用的账单工具：{names}。如果某一步需要的工具不在此列表中，请如实说明，不要自行变通。",
}
_SEPARATOR = {"en": ", ", "zh": "、"}
DEFAULT_PRODUCT = "your product"
_DEFAULT_PRODUCT = {"en": DEFAULT_PRODUCT, "zh": "本产品"}
_BLOCK = re.compile(r"^<!-- if (\w+) -->\n(.*?)^<!-- end -->\n", re.MULTILINE | re.DOTALL)
_ITEM = re.compile(r"^((?:\d+\.|-) )\$(\w+)$", re.MULTILINE)
_NUMBERED = re.compile(r"^\d+\. ")


@dataclass(frozen=True)
class PromptFacts:
    """What a provider's prompts say that is the provider's own, each in English and Chinese.

    ``account``: what the account holds (ends with a full stop). ``rules``: the provider's own safety
    rules (items of the system prompt's list). ``tool_map``: one item per tool, what it does.
    ``chat``, ``voice``: the chatbot's and the voice assistant's section on how a person pays (or, for
    a read-only provider, what to do instead), heading included. ``autonomous``: the provider's own
    steps of the autonomous routine. ``check_outcome``: the calls that tell whether a charge with an
    unknown outcome went through; ``substitutes``: what an agent must not use in place of a refused
    charge; both only for a provider that moves money.

    Example:
        >>> one = {"en": "x", "zh": "某"}
        >>> PromptFacts(account=one, rules={"en": ["r"], "zh": ["规"]}, tool_map=one, chat=one, voice=one,
        ...             autonomous={"en": [], "zh": []}).check_outcome["zh"]
        ''
    """

    account: Text
    rules: Items
    tool_map: Items
    chat: Text
    voice: Text
    autonomous: Items
    check_outcome: Text = field(default_factory=lambda: NONE)
    substitutes: Text = field(default_factory=lambda: NONE)


def prompt_facts(provider: str | None = None) -> PromptFacts:
    """The provider's prompt facts (``FACTS`` in its package's ``prompt`` part, found through ``Provider``).

    Example:
        >>> prompt_facts().account["en"][:14]
        'wallet balance'
    """
    name = get_registry(provider).provider
    declared = get_provider(name)
    module = declared.part("prompt")
    if module is None:
        raise ValueError(f"provider {name!r} declares no prompt facts ({declared.package}.prompt.FACTS)")
    facts = module.FACTS
    if not isinstance(facts, PromptFacts):
        raise TypeError(f"{module.__name__}.FACTS is not a PromptFacts")
    return facts


def default_tools(provider: str | None = None) -> list[str]:
    """The tool names a default ``BillingToolkit`` gives an agent: the registry's groups and the advisor
    (where the provider declares its payment paths).

    Example:
        >>> from agent_billing.provider import provider_names
        >>> registry = get_registry()
        >>> default_tools() == [*registry.groups(), ADVISOR_TOOL]
        True
        >>> all(ADVISOR_TOOL not in get_registry(name).groups() for name in provider_names())
        True
    """
    registry = get_registry(provider)
    return [*registry.groups(), *([ADVISOR_TOOL] if registry.advisor is not None else [])]


def available_prompts() -> list[tuple[str, str]]:
    """Every (variant, language) pair that has a template.

    Example:
        >>> ("voice", "zh") in available_prompts()
        True
    """
    return [(v, lang) for v in VARIANTS for lang in LANGUAGES if _template_path(v, lang).is_file()]


def conditions(registry: Registry) -> dict[str, bool]:
    """Which conditional template blocks a provider's prompts keep: ``paths`` (it declares payment
    paths) and ``money`` (some operation moves money).

    Example:
        >>> conditions(get_registry())
        {'paths': True, 'money': True}
    """
    return {"paths": registry.advisor is not None,
            "money": any(op.effect.moves_money or op.effect_for is not None for op in registry)}


def load_prompt(
    variant: Variant = "system",
    language: Language = "en",
    *,
    product_name: str = DEFAULT_PRODUCT,
    mandate: Mandate | None = None,
    tools: Sequence[str] | None = None,
    currency: str = "USD",
    provider: str | None = None,
    checks: bool | None = None,
) -> str:
    """Render a system prompt.

    ``mandate``: the deployer's spending policy, quoted as its :meth:`Mandate.describe` (its limits are
    what the tools enforce); without one the prompt says every money-moving call needs a person's
    approval (a provider whose operations move no money has no spending policy). ``tools``: the tool
    names the agent actually holds (default: every tool of the provider). ``currency`` must match the
    mandate's. ``provider``: whose facts, payment paths and tools the prompt describes (default: the
    default provider). ``checks``: whether the agent's tools offer the ``check_spend`` dry run (default:
    whether a mandate is given; a toolkit says it exactly, since spend authorities also add it). Without a
    product name every sentence still reads well ("your product"; "本产品").

    Example:
        >>> from agent_billing.provider import get_provider
        >>> text = load_prompt("chatbot", "zh", product_name="Example Co")
        >>> "Example Co" in text and get_provider().handoff.group in text
        True
        >>> load_prompt().splitlines()[2][:60]
        'You manage the billing account of your product: wallet balan'
        >>> for variant in ("autonomous", "chatbot", "voice"):
        ...     print(load_prompt(variant).splitlines()[0])
        # Autonomous billing agent for your product
        # Billing chat for your product
        # Voice billing assistant for your product
        >>> from agent_billing.provider import provider_names
        >>> all(tool in load_prompt("voice", provider=name) for name in provider_names() for tool in default_tools(name))
        True
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown prompt variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if language not in LANGUAGES:
        raise ValueError(f"unknown prompt language {language!r}; choose from {', '.join(LANGUAGES)}")
    currency = currency.strip().upper()
    if mandate is not None and mandate.currency != currency:
        raise ValueError(f"the mandate's limits are in {mandate.currency}, but the prompt says amounts are in "
                         f"{currency}; pass currency={mandate.currency!r}")
    registry = get_registry(provider)
    names = list(default_tools(registry.provider) if tools is None else tools)
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        raise ValueError("tools must be a non-empty list of tool names")
    facts = prompt_facts(registry.provider)
    paths = registry.advisor
    values: dict[str, str | Sequence[str]] = {
        f.name: getattr(facts, f.name).get(language, "") for f in fields(PromptFacts)}
    values.update(
        product_name=_product(product_name, language),
        mandate=mandate.describe(language) if mandate is not None else _NO_MANDATE[language],
        payment_path_rules=render_rules(language, paths) if paths else "",
        payment_paths=render_in_calls(paths, language) if paths else "",
        tools=_TOOLS_LINE[language].format(names=_SEPARATOR[language].join(f"`{n.strip()}`" for n in names)),
        currency=currency,
    )
    keep = conditions(registry)
    # The dry run exists only where there are limits to check against (toolkit.py adds it then).
    keep["checks"] = keep["money"] and (mandate is not None if checks is None else checks)
    source = _template_path(variant, language).read_text(encoding="utf-8")
    return render(source, values, keep, f"{registry.provider!r} ({variant}.{language})")


def render(source: str, values: Mapping[str, str | Sequence[str]], keep: Mapping[str, bool], what: str = "") -> str:
    """Render a template: keep the blocks whose condition holds, expand list-item placeholders, fill in
    the rest, and number the numbered lists. A placeholder left in the text must have a value.

    Example:
        >>> print(render("<!-- if money -->\\n1. Pay.\\n<!-- end -->\\n1. Read $what.\\n2. $more\\n",
        ...              {"what": "x", "more": ["a", "b"]}, {"money": False}))
        1. Read x.
        2. a
        3. b
        <BLANKLINE>
    """
    def block(match: re.Match[str]) -> str:
        if match.group(1) not in keep:
            raise ValueError(f"unknown template condition {match.group(1)!r}; known: {', '.join(keep)}")
        return match.group(2) if keep[match.group(1)] else ""

    text = _BLOCK.sub(block, source)
    used = {m.group("named") or m.group("braced") for m in Template.pattern.finditer(text)} - {None}
    empty = sorted(name for name in used if not values.get(name))
    if empty:
        raise ValueError(f"the prompt for {what} needs {', '.join(empty)}, which the provider does not declare")
    text = _ITEM.sub(lambda m: m.group(0) if isinstance(values[m.group(2)], str)
                     else "\n".join(m.group(1) + item for item in values[m.group(2)]), text)
    text = Template(text).substitute({k: v for k, v in values.items() if isinstance(v, str)})
    return _number(re.sub(r"\n{3,}", "\n\n", text))


def _number(text: str) -> str:
    """Number each run of numbered lines from 1 (items kept or dropped per provider leave gaps)."""
    lines, n = [], 0
    for line in text.split("\n"):
        n = n + 1 if _NUMBERED.match(line) else 0
        lines.append(_NUMBERED.sub(f"{n}. ", line, count=1) if n else line)
    return "\n".join(lines)


def _product(name: str, language: str) -> str:
    name = name.strip()
    # "your account" is BillingToolkit's default product name: it means no name was given, too.
    return _DEFAULT_PRODUCT[language] if name in ("", DEFAULT_PRODUCT, "your account") else name


def _template_path(variant: str, language: str) -> Path:
    return data_path("prompts") / f"{variant}.{language}.md"


__all__ = ["LANGUAGES", "NONE", "VARIANTS", "PromptFacts", "available_prompts", "conditions", "default_tools",
           "load_prompt", "prompt_facts", "render"]
