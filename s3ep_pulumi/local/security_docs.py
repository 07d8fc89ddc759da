"""The generated parts of docs/security.md: the rule table and the IAM exceptions.

python -m s3ep_pulumi.local.security_docs     (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

from pathlib import Path

from s3ep_pulumi.model.security import WILDCARD_RESOURCE_EXCEPTIONS
from s3ep_pulumi.policy import RULES

OUT = Path("docs") / "security.md"
MARKERS = {
    "rules": ("<!-- rules:begin -->", "<!-- rules:end -->"),
    "exceptions": ("<!-- exceptions:begin -->", "<!-- exceptions:end -->"),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rule_table() -> str:
    lines = [
        "| rule | level | scope | established rule | demands | fix | config |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(
            f'| <a id="{r.name}"></a>`{r.name}` | {r.level.value} | '
            f"{'stack' if r.stack_check else 'resource'} | {', '.join(r.anchors) or '—'} | "
            f"{_cell(r.summary)} | {_cell(r.fix)} | "
            f"{', '.join(f'`{k}`' for k in r.config) or '—'} |"
        )
    return "\n".join(lines)


def exceptions_table() -> str:
    lines = ['| action on `"Resource": "*"` | why |', "|---|---|"]
    lines += [f"| `{a}` | {_cell(why)} |" for a, why in WILDCARD_RESOURCE_EXCEPTIONS.items()]
    return "\n".join(lines)


def render(text: str) -> str:
    """`text` with each marked section replaced by its generated table."""
    for key, body in (("rules", rule_table()), ("exceptions", exceptions_table())):
        begin, end = MARKERS[key]
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    return text


def main() -> None:
    OUT.write_text(render(OUT.read_text()))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
