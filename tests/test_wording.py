"""Every page reads as one zh-Hans product (issue #16, /work/shared/GLOSSARY.md).

Each role of the demo (HR, a department head, an employee, finance, a supervision-group member)
signs in on a realistic data set (tests/showcase.py: the demo plus a closed, published period with
results, rule flags, appeals in every state and a pay run in two versions) and walks every page
reachable from the navigation and from the links on those pages: same origin, GET only, never
/admin/, /platform-admin/, /api/ or a download. Each page is rendered in zh-Hans and read as a
person reads it: its text nodes, plus the title, placeholder, aria-label and alt attributes.

The checks, each hit reported with its URL and the text around it:

* **No English.** A run of two or more Latin letters is a failure unless it is something the
  organisation typed itself — a code or a name of a department, team, indicator, scheme, period,
  policy, an employee number, a salary band, a unit such as g/kWh, a username where it stands
  alone — (the allow-list is read from the database, not written here), one of the few words the
  product uses as names of things (``ALLOWED``: Excel, API, JSON, the export formats), or inside an
  element marked with another language (the language switch's ``English``). Text the user typed
  into a form field (input values, textareas) and a configuration document shown as typed (a
  ``<pre>`` that parses as JSON) are code, not wording; so are the keys a JSON editor lists beside
  their labels (``<code lang="zxx">``, "no language"), which only a page with a code editor (a
  ``<textarea>``, or a formula field marked ``data-code-editor``) may show.
* **Chinese punctuation.** An ASCII ``:;,?!`` or a parenthesis next to a Chinese character, a
  parenthesis around Chinese, an ASCII full stop ending a Chinese sentence.
* **Glossary.** None of the words the glossary says not to use (考核模板, 复核期, 结算, 系数 alone …).

A second test reads the same pages for template syntax that leaked into the output (``{{``,
``{%``) and for server errors.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

import pytest
from django.db import transaction
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django_scopes import scopes_disabled

from organizations.middleware import SESSION_KEY
from tests.showcase import ROLES, Showcase, build_showcase

# Words the product itself may show on a zh-Hans page: names of things, not keys.
# KPI: the seed schemes' own word for their indicators (热电二厂's "Ⅰ类KPI"), shown in the gallery's summaries.
ALLOWED = {"Excel", "API", "JSON", "XLSX", "CSV", "xlsx", "csv", "XLS", "xls", "ODS", "ods", "KPI"}
# The module-scoped walk needs the test database set up: pytest-django sets it up for marked tests.
pytestmark = pytest.mark.django_db

SKIPPED_PREFIXES = ("/admin/", "/platform-admin/", "/api/", "/static/", "/media/", "/i18n/", "/logout/")
DOWNLOAD = re.compile(r"(/download/|/attachment/|\.xlsx$|\.csv$)")
# Pages of one shape (digits replaced) visited at most this often per role: the sheets of thirty
# people look alike; three of each shape are enough to find a wording problem in their template.
PER_SHAPE = 3
MAX_PAGES = 400

CJK = "\u3400-\u9fff\uf900-\ufaff"
BLOCK_TAGS = {"address", "article", "aside", "blockquote", "br", "button", "caption", "dd", "div", "dl", "dt",
              "fieldset", "figcaption", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
              "input", "label", "legend", "li", "main", "nav", "ol", "option", "p", "pre", "section", "select",
              "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", "ul"}
SKIPPED_TAGS = {"script", "style", "template", "noscript", "textarea"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")

ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
PUNCTUATION = [
    (re.compile(rf"[{CJK}] ?[:;,?!]"), "ASCII punctuation after Chinese"),
    (re.compile(rf"[:;,?!] ?[{CJK}]"), "ASCII punctuation before Chinese"),
    (re.compile(rf"[{CJK}] ?[()]|[()] ?[{CJK}]"), "ASCII parenthesis next to Chinese"),
    (re.compile(rf"\([^()\n]*[{CJK}][^()\n]*\)"), "ASCII parentheses around Chinese"),
    (re.compile(rf"[{CJK}]\.(?=\s|$)"), "ASCII full stop after Chinese"),
]
# Brackets around arithmetic ("100.00 × (工作业绩 94.00/100.00 × 0.8 + …) = 94.40", ROUND(…, 2)) are
# a formula's, not a sentence's: they stay half-width, like the numbers in them.
MATH = re.compile(r"\([^()\n]*[×÷+−=/*<>][^()\n]*\)")
# The glossary's "not" words; a few are wrong only alone (系数 without 绩效 or 等级 before it …).
NOT_WORDS = [
    (re.compile("考核模板|模板"), "考核方案"),
    (re.compile("复核期"), "申诉期"),
    (re.compile("结算"), "考核汇总定级 / 工资核算"),
    (re.compile("考核系数|(?<![绩效等级])系数"), "绩效系数"),
    (re.compile("考核期|(?<!考核)周期"), "考核周期"),
    (re.compile("开启"), "启动考核 / 开始评分 / 开始校准"),
    (re.compile("评分表"), "考核表"),
    (re.compile("打分"), "评分"),
    (re.compile("证据"), "依据"),
    (re.compile("考核制度"), "考核办法"),
    (re.compile("绩效奖金"), "绩效工资"),
    (re.compile("薪酬方案"), "绩效工资办法"),
    (re.compile("薪酬输入项|输入项"), "计薪数据"),
    (re.compile("(?<!扣分)(?<!加分)(?<!计薪)项目"), "扣分项目 / 计薪项目"),
    (re.compile("(?<!系统)自动"), "系统自动"),
    (re.compile("没有其他"), "暂无…。"),
    (re.compile("-{5,}"), "请选择"),
]
# Keys shown as code beside their labels, for the person writing a JSON configuration: only where
# such a configuration is edited (a <textarea>), never on a page that merely shows something.
CODE_REFERENCE = re.compile(r'lang="zxx"')
LEAK = re.compile(r"\{\{|\{%|%\}|\{#")


@dataclass
class Page:
    role: str
    url: str
    status: int
    html: str = ""
    text: str = ""  # what a reader sees, blocks on their own lines
    standalone: list[str] = field(default_factory=list)  # text nodes exactly as they stand


class _Reader(HTMLParser):
    """The visible text of a page, with the links it offers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.nodes: list[str] = []
        self.links: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its text)
        self._pre: list[str] | None = None

    @property
    def _hidden(self) -> bool:
        return any(hides for _tag, hides in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        lang = values.get("lang", "")
        hides = tag in SKIPPED_TAGS or bool(lang and not lang.lower().startswith("zh"))
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if not self._hidden and not hides:
            for name in READ_ATTRIBUTES:
                if values.get(name):
                    self.parts.append(f"\n{values[name]}\n")
                    self.nodes.append(values[name].strip())
            if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
                self.parts.append(f"\n{values['value']}\n")
        if tag == "pre" and not self._hidden:
            self._pre = []
        if tag not in VOID_TAGS:
            self._stack.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        while self._stack:
            open_tag, _hides = self._stack.pop()
            if open_tag == tag:
                break
        if tag == "pre" and self._pre is not None:
            text = "".join(self._pre)
            self._pre = None
            if not _is_json(text):  # a configuration document shown as typed is code
                self.parts.append(text)
                self.nodes.append(text.strip())
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre is not None:
            self._pre.append(data)
            return
        self.parts.append(data)
        if data.strip():
            self.nodes.append(data.strip())


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _visible(html: str) -> tuple[str, list[str], list[str]]:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(reader.parts).split("\n"))
    return "\n".join(line for line in lines if line), reader.nodes, reader.links


def _shape(url: str) -> str:
    """/sheets/12/ and /sheets/31/ look alike; so do ?page=2 and ?page=3 (not ?sort= and ?page=)."""
    parts = urlsplit(url)
    keys = sorted(key for key, _value in parse_qsl(parts.query))
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _wanted(base: str, href: str) -> str | None:
    href = urldefrag(urljoin(base, href))[0]
    parts = urlsplit(href)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
        return None
    path = parts.path
    if path.startswith(SKIPPED_PREFIXES) or DOWNLOAD.search(path):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _walk(client: Client, role: str, seeds: list[str]) -> list[Page]:
    """Breadth first from home (and ``seeds``: pages only a state of the data leads to), following
    links and redirects, each shape of page at most PER_SHAPE times."""
    pages: list[Page] = []
    queue: deque[str] = deque(["/", *seeds])
    seen: set[str] = set(queue)
    shapes: dict[str, int] = {}

    def offer(base: str, href: str) -> None:
        found = _wanted(base, href)
        if found is None or found in seen:
            return
        seen.add(found)
        shape = _shape(found)
        if shapes.get(shape, 0) >= PER_SHAPE:
            return
        shapes[shape] = shapes.get(shape, 0) + 1
        queue.append(found)

    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        page = Page(role, url, response.status_code)
        pages.append(page)
        if response.status_code in (301, 302, 303, 307, 308):
            offer(url, response["Location"])
            continue
        content_type = response.get("Content-Type", "")
        if response.status_code != 200 or "text/html" not in content_type \
                or "attachment" in response.get("Content-Disposition", ""):
            continue
        page.html = response.content.decode()
        page.text, page.standalone, links = _visible(page.html)
        for href in links:
            offer(url, href)
    return pages


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Showcase, list[Page]]]:
    """The showcase built once for the module (rolled back at the end) and every role's walk."""
    from config.celery import app

    eager = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    with tempfile.TemporaryDirectory() as media, override_settings(
            LANGUAGE_CODE="zh-hans", MEDIA_ROOT=media,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), django_db_blocker.unblock():
        try:
            with transaction.atomic():
                showcase = build_showcase(TestCase.captureOnCommitCallbacks)
                pages: list[Page] = []
                for role in ROLES:
                    client = Client()
                    client.force_login(showcase.users[role])
                    session = client.session
                    session[SESSION_KEY] = showcase.plant.pk
                    session.save()
                    pages += _walk(client, role, _seeds(showcase, role))
                yield showcase, pages
                transaction.set_rollback(True)
        finally:
            app.conf.task_always_eager, app.conf.task_eager_propagates = eager


def _seeds(showcase: Showcase, role: str) -> list[str]:
    """Pages the links of a published period no longer lead to, but that a role opens in its work."""
    if role != "hr":
        return []
    return [reverse("period-calibration", args=[showcase.period.pk]),
            reverse("period-confirm", args=[showcase.open_period.pk, "scoring"])]


def _allowed_words(showcase: Showcase) -> re.Pattern[str]:
    typed = sorted((t for t in showcase.typed if t not in set(showcase.users)), key=len, reverse=True)
    return re.compile("|".join(rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9]|-\d)" for t in typed))


def _context(text: str, start: int, end: int) -> str:
    return text[max(0, start - 25):end + 25].replace("\n", " ⏎ ")


def _hits(showcase: Showcase, page: Page) -> list[str]:
    usernames = {user.username for user in showcase.users.values()}
    masked = _allowed_words(showcase).sub("\x00", page.text)
    found: list[str] = []
    for match in ASCII_WORD.finditer(masked):
        word = match.group(0)
        if word in ALLOWED or (word in usernames and word in page.standalone):
            continue
        found.append(f"English {word!r}: …{_context(masked, match.start(), match.end())}…")
    unbracketed = MATH.sub(lambda m: "\x01" + m.group(0)[1:-1] + "\x01", masked)
    for pattern, what in PUNCTUATION:
        for match in pattern.finditer(unbracketed):
            found.append(f"{what}: …{_context(masked, match.start(), match.end())}…")
    if CODE_REFERENCE.search(page.html) and "<textarea" not in page.html and "data-code-editor" not in page.html:
        found.append('code shown as code (lang="zxx") on a page without a code editor: show its label instead')
    for pattern, instead in NOT_WORDS:
        for match in pattern.finditer(masked):
            found.append(f"{match.group(0)!r} (use {instead}): …{_context(masked, match.start(), match.end())}…")
    return found


def _report(problems: dict[str, list[str]]) -> str:
    lines = []
    for where, hits in problems.items():
        lines.append(where)
        lines.extend(f"    {hit}" for hit in dict.fromkeys(hits))
    return "\n".join(lines)


def test_it_walks_enough_pages_for_every_role(site: tuple[Showcase, list[Page]]) -> None:
    _showcase, pages = site
    walked = {role: [p.url for p in pages if p.role == role and p.status == 200] for role in ROLES}
    assert len(walked["hr"]) >= 40, walked["hr"]
    for role in ("head", "employee", "finance", "supervisor"):
        assert len(walked[role]) >= 4, walked[role]
    # The pages the issue names are among them.
    urls = {url for urls in walked.values() for url in urls}
    for expected in ("/results/mine/", "/pay/mine/", "/appeals/", "/pay/policies/", "/templates/", "/indicators/"):
        assert expected in urls


@pytest.mark.parametrize("role", ROLES)
def test_every_page_speaks_the_glossarys_zh_hans(site: tuple[Showcase, list[Page]], role: str) -> None:
    showcase, pages = site
    problems = {f"{page.url} ({role})": hits for page in pages if page.role == role and page.text
                for hits in [_hits(showcase, page)] if hits}
    assert not problems, "\n" + _report(problems)


def test_no_page_leaks_template_syntax_or_fails(site: tuple[Showcase, list[Page]]) -> None:
    _showcase, pages = site
    failed = [f"{page.url} ({page.role}): {page.status}" for page in pages if page.status >= 500]
    leaks = [f"{page.url} ({page.role}): …{_context(page.html, m.start(), m.end())}…"
             for page in pages for m in LEAK.finditer(page.html)]
    with scopes_disabled():
        assert not failed and not leaks, "\n".join(failed + leaks)


# Where the pages show money: each must read #,##0.00 (GLOSSARY.md), never 1680 or 26680.00.
MONEY_CELL = re.compile(r'(?:class="[^"]*\b(?:pay-subtotal|pay-total|run-total|my-pay-total|own-slip-total)\b[^"]*"'
                        r'|id="(?:pay-grand-total|pay-delta-total)")[^>]*>([^<]*)<')
MONEY = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})*\.\d{2}$")
NUMBER_RULES = [
    (re.compile(r"权重 ?[01](?:\.\d+)?(?![\d.%])"), "a weight as a share, not a percentage (80%)"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} ?（北京时间）"), "a time in a sentence written as in a table"),
    (re.compile(r"\d{4}-\d{2}-\d{2} ?[–~-] ?\d{4}-\d{2}-\d{2}"), "a range not written 2026-10-26 至 2026-11-25"),
]


def test_numbers_read_as_the_glossary_writes_them(site: tuple[Showcase, list[Page]]) -> None:
    _showcase, pages = site
    problems: dict[str, list[str]] = {}
    money_seen = 0
    for page in pages:
        hits = []
        for match in MONEY_CELL.finditer(page.html):
            money_seen += 1
            if not MONEY.match(match.group(1).strip()):
                hits.append(f"money {match.group(1).strip()!r} is not #,##0.00")
        for pattern, what in NUMBER_RULES:
            hits += [f"{what}: …{_context(page.text, m.start(), m.end())}…" for m in pattern.finditer(page.text)]
        if hits:
            problems[f"{page.url} ({page.role})"] = hits
    assert money_seen >= 10  # the run pages, the slips and the dashboard cards were read
    assert not problems, "\n" + _report(problems)


def test_every_engine_key_has_a_label() -> None:
    """The keys the engines know are shown by their labels: a new component kind or standard input
    without one would reach a page as an English key."""
    from indicators import scoring
    from payroll.engine import KINDS, STANDARD_NUMBERS, STANDARD_TEXTS
    from payroll.labels import INPUT_LABELS, KIND_LABELS

    assert set(KINDS) <= set(KIND_LABELS), set(KINDS) - set(KIND_LABELS)
    assert set(STANDARD_NUMBERS) | set(STANDARD_TEXTS) <= set(INPUT_LABELS)
    assert all(str(method.label) != method.value for method in scoring.Method)

