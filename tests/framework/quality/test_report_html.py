"""The HTML validation report is one self-contained page that shows what failed and escapes data."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from framework.quality import DIMENSIONS
from framework.quality.report_html import render_validation_html
from framework.records import CheckResult
from framework.stages.validate import REASON_COLUMN, sample_records, split_rows, summarise

EVIL = "<script>alert('x')</script>"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture
def page() -> str:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "note": ["fine", EVIL, "fine", None],
            "age": [30, 150, 40, 50],
        }
    )
    checks = [
        ("bucle", CheckResult("churned:label_present", True, dimension="completeness")),
        ("rules", CheckResult("age:max", False, "age", (1,), "1 value above 120, e.g. 150")),
        (
            "rules",
            CheckResult(
                "note:canonical",
                False,
                "note",
                (1, 3),
                f"2 values spell their category differently: {EVIL}",
                dimension="consistency",
            ),
        ),
    ]
    report, reasons = summarise(frame, checks, max_bad_share=0.1, min_score=0.9)
    _, quarantined = split_rows(frame, reasons)
    return render_validation_html(report, sample_records(quarantined), title="Data quality: t")


def test_the_page_fetches_nothing_and_runs_nothing(page: str) -> None:
    parser = Tags()
    parser.feed(page)

    tags = {tag for tag, _ in parser.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attributes in parser.tags:
        for name in ("src", "href"):
            value = attributes.get(name)
            assert value is None or value.startswith("#"), f"<{tag} {name}={value!r}>"
    assert not re.search(r"https?://", page)
    assert "url(" not in page and "@import" not in page


def test_the_page_names_every_dimension_and_every_failing_check(page: str) -> None:
    for dimension in DIMENSIONS:
        assert f'id="{dimension}"' in page
    assert "age:max" in page and "note:canonical" in page
    assert "1 value above 120, e.g. 150" in page
    assert "FAILED" in page and "PASSED" not in page
    assert "quarantine.max_bad_share=0.1" in page, "the reasons it failed are listed"


def test_data_and_details_are_escaped_never_run(page: str) -> None:
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    parser = Tags()
    parser.feed(page)
    assert EVIL in "".join(parser.text), "the value still shows, as text"


def test_the_quarantine_sample_shows_the_reason_first_and_each_bad_row(page: str) -> None:
    parser = Tags()
    parser.feed(page)
    text = "".join(parser.text)

    section = text.split("Quarantined rows", 1)[1]
    assert "The first 2 of 2 quarantined rows" in section
    assert section.index(REASON_COLUMN) < section.index("customer_id")
    assert "age:max;note:canonical" in section
    assert "missing" in section, "row d's missing note shows as missing, not 'None'"


def test_a_dimension_nothing_measured_says_so() -> None:
    frame = pd.DataFrame({"x": [1, 2]})
    report, _ = summarise(frame, [("bucle", CheckResult("x:label_present", True))], 0.1)

    page = render_validation_html(report, [], title="t")

    assert page.count("No check measured this dimension.") == 3
    assert "no checks" in page
    assert "No row was quarantined." in page
    assert "PASSED" in page


def test_the_sample_is_limited_and_keeps_values_readable() -> None:
    frame = pd.DataFrame(
        {
            "n": range(50),
            "when": pd.to_datetime(["2024-01-02"] * 50),
            "x": [0.1 + 0.2] * 50,
        }
    )
    reasons = {position: ["n:max"] for position in range(50)}
    _, quarantined = split_rows(frame, reasons)

    sample = sample_records(quarantined)

    assert len(sample) == 20
    assert list(sample[0]) == [REASON_COLUMN, "n", "when", "x"]
    report, _ = summarise(frame, [("r", CheckResult("n:max", False, "n", tuple(range(50))))], 1.0)
    page = render_validation_html(report, sample)
    assert "2024-01-02T00:00:00" in page and "0.3<" in page
