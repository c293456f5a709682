"""The system prompts and the skills: they render, quote the mandate and the advisor, and name only real tools."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from string import Template

import pytest

from agent_billing.advisor import RULES, render_in_calls, render_rules
from agent_billing.guardrails.mandate import Mandate, format_money
from agent_billing.prompts import LANGUAGES, VARIANTS, PromptFacts, available_prompts, load_prompt, prompt_facts
from agent_billing.prompts import render as render_template
from agent_billing.registry import get_registry, provider_names
from agent_billing.resources import data_path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = get_registry()

# The only hand-written part of the tool surface: the workflow actions and the advisor tool.
WORKFLOW_ACTIONS = {"wallet": {"ensure_funded", "fund_via_human"}, "payment_links": {"handoff", "wait"}}
ADVISOR_TOOL = "payment_path"

ACTIONS: dict[str, set[str]] = {
    group: {op.action for op in ops} | WORKFLOW_ACTIONS.get(group, set())
    for group, ops in REGISTRY.groups().items()
}
TOOLS = set(ACTIONS) | {ADVISOR_TOOL}
# A skill folder named after another provider (skills/wallgent/) is checked against that provider's tools.
OTHER_PROVIDERS = {name: {group: {op.action for op in ops} for group, ops in get_registry(name).groups().items()}
                   | ({ADVISOR_TOOL: set()} if get_registry(name).advisor is not None else {})
                   for name in provider_names() if name != REGISTRY.provider}
ADVISED = [name for name in provider_names() if get_registry(name).advisor is not None]

MANDATE = Mandate(max_per_charge="50", max_per_24h="200", allowed_plan_ids={10, 42})
PRODUCT = "Acme Studio"
FACTS = {f.name for f in fields(PromptFacts)}
PLACEHOLDERS = {"product_name", "mandate", "payment_path_rules", "payment_paths", "tools", "currency"} | FACTS
ALL = [(v, lang) for v in VARIANTS for lang in LANGUAGES]
CALL = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*)\((?=\s*(?:[a-z_]+\s*=|\.\.\.|\)))([^)]*)\)")
PYTHON_FENCE = re.compile(r"```python\n.*?```", re.DOTALL)
CJK = re.compile(r"[\u4e00-\u9fff]")


def render(variant: str, language: str, **kwargs: object) -> str:
    return load_prompt(variant, language, product_name=PRODUCT, mandate=MANDATE, **kwargs)  # type: ignore[arg-type]


def bad_calls(text: str, actions: dict[str, set[str]] | None = None) -> tuple[int, list[str]]:
    """(calls seen, calls naming an unknown tool or action) in ``text``, Python code blocks left out."""
    seen, bad = 0, []
    known = ACTIONS if actions is None else actions
    tools = TOOLS if actions is None else set(actions)
    for match in CALL.finditer(PYTHON_FENCE.sub("", text)):
        seen += 1
        tool, args = match.group(1), match.group(2)
        action = re.search(r'\baction\s*=\s*"([^"]*)"', args)
        if tool not in tools:
            bad.append(f"unknown tool: {match.group(0)}")
        elif tool == ADVISOR_TOOL and action:
            bad.append(f"payment_path takes no action: {match.group(0)}")
        elif action and action.group(1) not in known.get(tool, set()):
            bad.append(f"unknown action: {match.group(0)}")
    return seen, bad


def documents() -> dict[str, str]:
    docs = {f"prompt {v}.{lang}": render(v, lang) for v, lang in ALL}
    for path in [ROOT / "SKILL.md", *sorted((ROOT / "skills").glob("*/SKILL.md")),
                 *sorted((ROOT / "skills").glob("*/references/*.md"))]:
        docs[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return docs


def test_the_call_checker_catches_wrong_names() -> None:
    text = ('wallet(action="fund", amount=25) wallet(action="refund", amount=5) payments(...) '
            'payment_path(action="x") payment_links(action="handoff", purpose="fund")')
    seen, bad = bad_calls(text)
    assert seen == 5
    assert [b.split(":")[0] for b in bad] == ["unknown action", "unknown tool", "payment_path takes no action"]


def test_every_call_in_prompts_and_skills_names_a_real_tool_and_action() -> None:
    total = 0
    for name, text in documents().items():
        provider = next((p for p in OTHER_PROVIDERS if name.startswith(f"skills/{p}/")), None)
        seen, bad = bad_calls(text, OTHER_PROVIDERS[provider] if provider else None)
        assert bad == [], name
        total += seen
    assert total > 50  # the docs really are written in calls the checker reads


def test_every_variant_renders_in_both_languages() -> None:
    assert sorted(available_prompts()) == sorted(ALL)
    for variant, language in ALL:
        text = render(variant, language)
        assert PRODUCT in text
        assert MANDATE.describe(language) in text
        for limit in (MANDATE.max_per_charge, MANDATE.max_per_24h):
            assert limit is not None and format_money(limit) in text
        assert ("plans 10 and 42" if language == "en" else "仅限套餐 10、42") in text
        assert render_rules(language, REGISTRY.advisor) in text  # type: ignore[arg-type]
        assert not re.search(r"\$\{?[A-Za-z_]", text), f"{variant}.{language}: unreplaced placeholder"
        assert "`payment_links`" in text and "`payment_path`" in text


def test_templates_use_only_known_placeholders() -> None:
    for variant, language in ALL:
        source = data_path("prompts", f"{variant}.{language}.md").read_text(encoding="utf-8")
        used = {m.group("named") or m.group("braced") for m in Template.pattern.finditer(source)
                if m.group("named") or m.group("braced")}
        invalid = [m.group(0) for m in Template.pattern.finditer(source) if m.group("invalid") is not None]
        assert used <= PLACEHOLDERS and not invalid, f"{variant}.{language}"
        assert {"mandate", "payment_path_rules", "tools", "product_name"} <= used


def test_chinese_prompts_are_chinese_and_english_ones_are_not() -> None:
    for variant in VARIANTS:
        zh, en = render(variant, "zh"), render(variant, "en")
        assert len(CJK.findall(zh)) > 300, variant
        assert not CJK.search(en), variant
        assert render_rules("en") not in zh


def test_voice_prompts_forbid_reading_urls_aloud() -> None:
    assert re.search(r"never read a URL", render("voice", "en"), re.IGNORECASE)
    assert "绝不朗读网址" in render("voice", "zh")
    assert "never read" not in render("chatbot", "en").lower()


def test_without_a_mandate_every_money_move_needs_a_person() -> None:
    en = load_prompt("system", "en")
    zh = load_prompt("autonomous", "zh")
    assert "No spending mandate is set, so every money-moving call needs a person's approval first." in en
    assert "未设置支出授权" in zh and "经人批准" in zh
    assert "your product" in en and "本产品" in zh


def test_the_tools_line_lists_the_given_tools() -> None:
    text = load_prompt("chatbot", tools=["payment_links", "payment_path"])
    line = next(line for line in text.splitlines() if line.startswith("Your billing tools here:"))
    assert "`payment_links`, `payment_path`" in line and "`wallet`" not in line
    default = next(line for line in load_prompt().splitlines() if line.startswith("Your billing tools here:"))
    assert all(f"`{tool}`" in default for tool in TOOLS)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="variant"):
        load_prompt("email")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="language"):
        load_prompt("system", "fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="EUR"):
        load_prompt(mandate=Mandate(max_per_charge="50", currency="EUR"))
    with pytest.raises(ValueError, match="tools"):
        load_prompt(tools=[])
    assert "EUR" in load_prompt(mandate=Mandate(max_per_charge="50", currency="EUR"), currency="eur")


def test_chinese_rules_match_the_advisor_rules() -> None:
    en, zh = render_rules("en").splitlines(), render_rules("zh").splitlines()
    assert len(en) == len(zh) == len(RULES)
    for rule, line in zip(RULES, zh, strict=True):
        assert CJK.search(rule.when_zh) and CJK.search(rule.reason_zh), rule.name
        assert rule.when_zh in line and rule.reason_zh in line
    assert en[0].startswith("1. If the last charge needed 3-D Secure (requires_action) and a person can be reached: "
                            "HUMAN-ASSISTED.")


def test_no_document_contains_a_card_number() -> None:
    def luhn(digits: str) -> bool:
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        return total % 10 == 0

    for name, text in documents().items():
        for run in re.findall(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)", text):
            digits = re.sub(r"\D", "", run)
            assert not luhn(digits), f"{name} contains a card-like number"


def test_data_path_finds_the_source_checkout() -> None:
    assert data_path("prompts", "system.en.md") == ROOT / "prompts" / "system.en.md"
    with pytest.raises(FileNotFoundError):
        data_path("prompts", "missing.md")


def _actions_of(provider: str) -> dict[str, set[str]]:
    return ACTIONS if provider == REGISTRY.provider else OTHER_PROVIDERS[provider]


@pytest.mark.parametrize("provider", ADVISED)
def test_the_paths_in_calls_are_the_providers_and_name_every_call_its_advisor_makes(provider: str) -> None:
    from tests.test_advisor import situations

    from agent_billing.advisor import advise

    paths = get_registry(provider).advisor
    assert paths is not None
    texts = {language: render_in_calls(paths, language) for language in ("en", "zh")}
    for language, text in texts.items():
        seen, bad = bad_calls(text, _actions_of(provider))
        assert seen >= 4 and bad == [], (language, bad)
    # The Chinese lines make the same calls as the English ones, line for line.
    en, zh = (text.splitlines() for text in texts.values())
    assert [sorted(CALL.findall(line)) for line in en] == [sorted(CALL.findall(line)) for line in zh]
    for situation in situations(provider):
        for call in advise(situation, paths).calls:
            assert f'{call.tool}(action="{call.action}"' in texts["en"], (provider, call)


@pytest.mark.parametrize("provider", ADVISED)
def test_a_prompt_renders_its_providers_rules_and_paths(provider: str) -> None:
    paths = get_registry(provider).advisor
    for variant, language in ALL:
        text = render(variant, language, provider=provider)
        assert render_rules(language, paths) in text  # type: ignore[arg-type]
        if variant == "system":
            assert paths is not None and render_in_calls(paths, language) in text  # type: ignore[arg-type]
    others = [p for p in ADVISED if p != provider]
    for other in others:
        theirs = get_registry(other).advisor
        assert theirs is not None and render_in_calls(theirs, "en") not in render("system", "en", provider=provider)


def test_the_toolkits_prompt_is_its_providers() -> None:
    from agent_billing.audit import MemoryAuditLog
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.sandbox import create_app
    from agent_billing.tools import BillingToolkit

    app = create_app(rate_limit=False)
    wallgent = BillingToolkit(client=sandbox_clients(app, provider="wallgent")[0], audit=MemoryAuditLog())
    prompt = wallgent.system_prompt("system", "zh")
    assert render_rules("zh", wallgent.registry.advisor) in prompt and "`payment_method`" in prompt
    tenex = BillingToolkit(client=sandbox_clients(app, provider="tenex")[0], audit=MemoryAuditLog(),
                           product_name="Acme")
    assert tenex.system_prompt("voice") == load_prompt("voice", product_name="Acme", provider="tenex",
                                                       tools=[t.name for t in tenex.get_tools()])


# --- every provider's prompts: only its own tools and actions, its facts in both languages

PROVIDERS = provider_names()
# The toolkit preset an agent running a variant holds (a variant without a preset of its name gets every action).
PRESET = {"chatbot": "chatbot", "autonomous": "autonomous"}


@pytest.fixture(scope="module")
def sandbox_app() -> object:
    from agent_billing.sandbox import create_app

    return create_app(rate_limit=False)


def toolkit_actions(app: object, provider: str, actions: str) -> tuple[object, dict[str, set[str]]]:
    """A sandbox toolkit of ``provider`` with the ``actions`` preset, and its tools' actions (from their schemas)."""
    from agent_billing.audit import MemoryAuditLog
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.tools import BillingToolkit

    toolkit = BillingToolkit(client=sandbox_clients(app, provider=provider)[0], audit=MemoryAuditLog(),
                             actions=actions, product_name=PRODUCT)
    tools = {}
    for tool in toolkit.get_tools():
        schema = tool.args_schema.model_json_schema()  # type: ignore[union-attr]
        tools[tool.name] = set(schema["properties"].get("action", {}).get("enum", []))
    return toolkit, tools


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_a_rendered_prompt_calls_only_its_toolkits_tools_and_actions(sandbox_app: object, provider: str,
                                                                      variant: str) -> None:
    for preset in ("full", PRESET.get(variant, "full")):
        toolkit, actions = toolkit_actions(sandbox_app, provider, preset)
        for language in LANGUAGES:
            text = toolkit.system_prompt(variant, language)  # type: ignore[attr-defined]
            seen, bad = bad_calls(text, actions)
            assert seen >= 2 and bad == [], (provider, variant, language, preset, bad)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_fact_is_declared_in_english_and_chinese_with_the_same_calls(provider: str) -> None:
    facts = prompt_facts(provider)
    for name in FACTS:
        value = getattr(facts, name)
        assert set(value) == set(LANGUAGES), (provider, name)
        en, zh = value["en"], value["zh"]
        if isinstance(en, str):
            en, zh = [en], [zh]
        assert len(en) == len(zh), (provider, name)
        for en_item, zh_item in zip(en, zh, strict=True):
            assert bool(en_item) == bool(zh_item), (provider, name)
            assert not CJK.search(en_item) and (not zh_item or CJK.search(zh_item)), (provider, name)
            assert sorted(CALL.findall(en_item)) == sorted(CALL.findall(zh_item)), (provider, name, en_item)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_tool_map_names_every_tool_of_the_provider_once(sandbox_app: object, provider: str) -> None:
    _, actions = toolkit_actions(sandbox_app, provider, "full")
    for language in LANGUAGES:
        mapped = [re.match(r"`(\w+)`", line).group(1) for line in prompt_facts(provider).tool_map[language]]  # type: ignore[union-attr]
        assert mapped == list(actions), (provider, language)
        for line in prompt_facts(provider).tool_map[language]:
            tool = line[1:line.index("`", 1)]
            named = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+\b", line)) & actions[tool]
            assert actions[tool] <= named or tool == ADVISOR_TOOL, (provider, language, tool)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_read_only_providers_prompts_say_what_it_can_and_cannot_do(language: str) -> None:
    for variant in VARIANTS:
        text = render(variant, language, provider="tenex")
        assert 'usage(action="can_start_run", estimated_credits=...)' in text, variant
        assert 'subscription(action="change_request", change=' in text, variant
        # No money moves and there are no payment paths: no spending policy, no payment rules.
        assert MANDATE.describe(language) not in text and "payment_path" not in text, variant
        assert "outcome_unknown" not in text and "3-D Secure" not in text, variant
        assert ("refuse" in text and "warn" in text and "`go`" in text) or variant == "autonomous", variant
    chat, voice = render("chatbot", language, provider="tenex"), render("voice", language, provider="tenex")
    assert 'channel="chat"' in chat and "messages.chat" in chat
    assert 'channel="voice"' in voice and "messages.voice" in voice and "messages.chat" not in voice
    assert "`why`" in chat and "`why`" in voice


def test_each_providers_own_rules_are_in_its_prompts_only() -> None:
    wallgent, modelslab = render("system", "en", provider="wallgent"), render("system", "en")
    for own in ("cancels at the end of the billing period", "prorated difference", "WALLET or CARD"):
        assert own in wallgent and own not in modelslab
    for own in ("ensure_funded", "Auto-funding", "withdrawal"):
        assert own in modelslab and own not in wallgent
    assert "wallet(" not in wallgent and "payment_links" not in wallgent


def test_a_placeholder_a_provider_does_not_fill_is_an_error() -> None:
    with pytest.raises(ValueError, match="check_outcome"):
        render_template("<!-- if money -->\nCheck $check_outcome.\n<!-- end -->\n", {"check_outcome": ""},
                        {"money": True})
    assert render_template("<!-- if money -->\nCheck $check_outcome.\n<!-- end -->\nDone.\n",
                           {"check_outcome": ""}, {"money": False}) == "Done.\n"
    with pytest.raises(ValueError, match="unknown template condition"):
        render_template("<!-- if monye -->\nx\n<!-- end -->\n", {}, {"money": True})


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_prompt_teaches_the_dry_run_exactly_when_the_tools_offer_it(sandbox_app: object, provider: str,
                                                                         variant: str) -> None:
    from agent_billing.audit import MemoryAuditLog
    from agent_billing.inprocess import sandbox_clients
    from agent_billing.tools import BillingToolkit

    for mandate in (None, Mandate(max_per_charge="50")):
        toolkit = BillingToolkit(client=sandbox_clients(sandbox_app, provider=provider)[0], audit=MemoryAuditLog(),
                                 mandate=mandate)
        offered = any("check_spend" in tool.args_schema.model_json_schema()["properties"]  # type: ignore[union-attr]
                      .get("action", {}).get("enum", []) for tool in toolkit.get_tools())
        for language in LANGUAGES:
            text = toolkit.system_prompt(variant, language)
            assert ('action="check_spend"' in text) == offered, (provider, variant, language, mandate)
    # A provider whose operations move no money never offers it; the others do with a mandate.
    moves_money = any(op.effect.moves_money or op.effect_for is not None for op in get_registry(provider))
    assert offered == moves_money, provider


def test_the_prompt_renders_the_dry_run_only_when_asked() -> None:
    assert 'action="check_spend"' not in load_prompt("system")
    assert 'action="check_spend"' in load_prompt("system", mandate=Mandate(max_per_charge="50"))
    assert 'action="check_spend"' in load_prompt("voice", "zh", checks=True)
    assert 'action="check_spend"' not in load_prompt("voice", mandate=Mandate(max_per_charge="50"), checks=False)
