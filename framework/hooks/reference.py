"""Generate docs/hooks.md, the hook reference, from ``framework/hooks/specs.py``.

A plugin author installed from pip has no reason to open ``specs.py``; the reference page is
the same contract in a readable form. It is generated, never written by hand, so it cannot
drift from the specs: ``tests/framework/hooks/test_reference_doc.py`` regenerates it in memory
and fails when the committed page differs. Regenerate it after editing a spec::

    python -m framework.hooks.reference            # writes docs/hooks.md
    python -m framework.hooks.reference --check    # exit 1 when docs/hooks.md is stale

Groups come from the banner comments of ``specs.py`` (the order the hooks fire), signatures
from its source, and whether the first non-None result wins from each spec's pluggy marker
(``firstresult``), not from the prose.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from framework.hooks import specs
from framework.hooks.markers import PROJECT_NAME

SPECS_FILE = Path(specs.__file__)
DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
REGENERATE = "python -m framework.hooks.reference"

_BANNER = re.compile(r"^# -{20,}$")
_PARAM = re.compile(r"^:param (\w+):\s*(.*)$")
_ROLE_TITLE = re.compile(r"^(?P<title>.+?) \((?P<detail>role .+)\)$")


@dataclass(frozen=True)
class HookSpec:
    """One hook as the reference shows it."""

    name: str
    group: str
    signature: str  # the arguments as written in specs.py, e.g. "stage: str, context: RunContext"
    return_type: str
    parameters: dict[str, str]  # argument name -> annotation, from the signature
    summary: str
    arguments: dict[str, str] = field(default_factory=dict)  # name -> its :param text
    returns: str = ""
    firstresult: bool = False
    historic: bool = False


def hook_specs() -> list[HookSpec]:
    """Every spec of ``specs.py`` in file order, with the banner group it sits under."""
    source = SPECS_FILE.read_text(encoding="utf-8")
    banners = _banners(source.splitlines())
    hooks = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        group = [title for line, title in banners if line < node.lineno][-1]
        options = getattr(getattr(specs, node.name), f"{PROJECT_NAME}_spec", None) or {}
        summary, arguments, returns = _split_docstring(ast.get_docstring(node) or "")
        hooks.append(
            HookSpec(
                name=node.name,
                group=group,
                signature=ast.unparse(node.args),
                return_type=ast.unparse(node.returns) if node.returns else "None",
                parameters={
                    arg.arg: ast.unparse(arg.annotation) if arg.annotation else ""
                    for arg in node.args.args
                },
                summary=summary,
                arguments=arguments,
                returns=returns,
                firstresult=bool(options.get("firstresult")),
                historic=bool(options.get("historic")),
            )
        )
    return hooks


def render_reference() -> str:
    """The whole docs/hooks.md page, as text."""
    hooks = hook_specs()
    groups: dict[str, list[HookSpec]] = {}
    for hook in hooks:
        groups.setdefault(hook.group, []).append(hook)

    lines = [
        "# Hook reference",
        "",
        f"<!-- Generated from framework/hooks/specs.py by `{REGENERATE}`; do not edit by hand. -->",
        "",
        _markdown(inspect.cleandoc(specs.__doc__ or "")),
        "",
        "An implementation is a method of the plugin class, so it takes `self` first; the "
        "signatures below are the specs' own. [Writing a plugin](plugins.md) shows the whole "
        "package around them.",
        "",
        "## Contents",
        "",
    ]
    for title, members in groups.items():
        heading, _ = _heading(title)
        names = ", ".join(f"[`{hook.name}`](#{_slug(hook.name)})" for hook in members)
        lines.append(f"- [{heading}](#{_slug(heading)}): {names}")
    for title, members in groups.items():
        heading, detail = _heading(title)
        while lines[-1] == "":
            lines.pop()
        lines += ["", f"## {heading}", ""]
        if detail:
            lines += [_markdown(detail[0].upper() + detail[1:]) + ".", ""]
        for hook in members:
            lines += _render_hook(hook)
    return "\n".join(lines).rstrip() + "\n"


def _render_hook(hook: HookSpec) -> list[str]:
    lines = [
        f"### `{hook.name}`",
        "",
        "```python",
        f"def {hook.name}({hook.signature}) -> {hook.return_type}",
        "```",
        "",
        _markdown(hook.summary),
        "",
    ]
    if hook.parameters:
        lines += ["**Arguments**", ""]
        for name, annotation in hook.parameters.items():
            kind = f" (`{annotation}`)" if annotation else ""
            lines.append(f"- `{name}`{kind}: {_markdown(hook.arguments.get(name, ''))}")
        lines.append("")
    else:
        lines += ["**Arguments**: none.", ""]
    lines += [f"**Returns** `{hook.return_type}`: {_markdown(hook.returns)}", ""]
    if hook.firstresult:
        calling = (
            "the first non-None result wins (`firstresult=True`): Bucle stops calling "
            "implementations at the first one that returns something other than None."
        )
    elif hook.return_type == "None":
        calling = "every implementation is called (broadcast), in no order to rely on."
    else:
        calling = (
            "every implementation is called (broadcast), in no order to rely on; their "
            "non-None results are collected in a list."
        )
    lines += [f"**Results**: {calling}", ""]
    if hook.historic:
        lines += ["A plugin registered late is still called with the earlier calls.", ""]
    return lines


def _banners(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, title) of each banner: comment lines between two ``# ----`` rules."""
    banners = []
    index = 0
    while index < len(lines):
        if _BANNER.match(lines[index]):
            end = index + 1
            while end < len(lines) and not _BANNER.match(lines[end]):
                end += 1
            title = " ".join(line.lstrip("#").strip() for line in lines[index + 1 : end])
            banners.append((end + 1, title))
            index = end + 1
        else:
            index += 1
    return banners


def _heading(title: str) -> tuple[str, str]:
    """Split ``Source (role "source", group ...)`` into a heading and its role detail."""
    match = _ROLE_TITLE.match(title)
    if match is None:
        return title, ""
    return match["title"], match["detail"]


def _split_docstring(docstring: str) -> tuple[str, dict[str, str], str]:
    """(first paragraph, :param texts by name, the rest: what a return value does)."""
    paragraphs: list[list[str]] = [[]]
    arguments: dict[str, str] = {}
    current: str | None = None
    for line in docstring.splitlines():
        match = _PARAM.match(line)
        if match:
            current = match[1]
            arguments[current] = match[2]
        elif current is not None and line.startswith(" "):
            arguments[current] += " " + line.strip()
        elif not line.strip():
            current = None
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            current = None
            paragraphs[-1].append(line.strip())
    texts = [" ".join(paragraph) for paragraph in paragraphs if paragraph]
    summary = texts[0] if texts else ""
    return summary, arguments, "\n\n".join(texts[1:])


def _markdown(text: str) -> str:
    """reStructuredText roles and literals of the docstrings, as Markdown."""
    text = re.sub(r":\w+:`~[\w.]*?\.(\w+)`", r"`\1`", text)
    text = re.sub(r":\w+:`([\w.]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the page to write")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the page is stale"
    )
    args = parser.parse_args(argv)
    page = render_reference()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != page:
            fix = (
                REGENERATE
                if args.output == DEFAULT_OUTPUT
                else f"{REGENERATE} --output {args.output}"
            )
            print(
                f"{args.output} is out of date with framework/hooks/specs.py; regenerate it: {fix}",
                file=sys.stderr,
            )
            return 1
        return 0
    from framework.files import write_text

    write_text(args.output, page)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
