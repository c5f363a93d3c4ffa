"""Browser tests of the chat widget and the support console, in headless Chromium (Playwright, sync API).

The widget is embedded with its one script tag on a host page served from a second origin
(a tiny local HTTP server on a port the `live_server` fixture allowed in ASKOLEUS_CORS_ORIGINS), so
the real cross-origin path (CORS preflight, streaming) is exercised. When no such origin is
configured the host page is served through `page.route` on the API's own origin instead.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Chromium at /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
expect = sync_api.expect

PAGES = Path(__file__).parent / "browser_pages"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DISCLAIMER = "This statement has not been evaluated by the Food and Drug Administration."
SECTION_ANCHOR = "#why-would-your-engine-be-underpowered"
IRON_Q = "why is iron important for runners?"
FRANCE_Q = "What's the capital of France?"
XSS = "<img src=x onerror=window.__xss=1>"
TIMEOUT_MS = 15_000


# ------------------------------------------------------------------ fixtures


class _PageHandler(BaseHTTPRequestHandler):
    """Serves tests/browser_pages/*.html with {{API}} replaced by the live server's URL."""

    api = ""

    def do_GET(self) -> None:
        name = urlsplit(self.path).path.lstrip("/") or "host.html"
        path = PAGES / name
        if "/" in name or not path.is_file():
            self.send_error(404)
            return
        body = path.read_text(encoding="utf-8").replace("{{API}}", self.api).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cors_host_port(live_server: Any) -> int | None:
    """A free http://127.0.0.1:PORT origin, other than the API's, that the API allows by CORS."""
    api_port = urlsplit(live_server.url).port
    origins = [getattr(live_server, "host_origin", None)]
    origins += getattr(getattr(live_server, "settings", None), "cors_origins", None) or []
    for origin in filter(None, origins):
        u = urlsplit(str(origin))
        if u.scheme == "http" and u.hostname == "127.0.0.1" and u.port and u.port != api_port and _port_free(u.port):
            return u.port
    return None


class Host:
    """Where the host pages live; `open(page, name)` loads one."""

    def __init__(self, api: str, base: str | None) -> None:
        self.api = api.rstrip("/")
        self.cross_origin = base is not None
        self.base = base or f"{self.api}/__browser_test__"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def open(self, page: Any, name: str = "host.html") -> None:
        if not self.cross_origin:
            html = (PAGES / name).read_text(encoding="utf-8").replace("{{API}}", self.api)
            page.route(
                self.url(name),
                lambda route: route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8"),
            )
        page.goto(self.url(name))
        page.wait_for_function("() => !!document.querySelector('askoleus-widget')?.shadowRoot")


@pytest.fixture(scope="module")
def host(live_server: Any) -> Iterator[Host]:
    """The host pages: on a second origin when the API allows one by CORS, else same-origin via page.route."""
    port = _cors_host_port(live_server)
    if port is None:
        yield Host(live_server.url, None)
        return
    handler = type("Handler", (_PageHandler,), {"api": live_server.url.rstrip("/")})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Host(live_server.url, f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Factory for pages in fresh contexts (own sessionStorage); everything is closed afterwards."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        ctx = browser.new_context(**options)
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


# ------------------------------------------------------------------ helpers


def shadow_eval(page: Any, script: str, arg: Any = None) -> Any:
    """Evaluate `script` (a function body of (root, arg)) against the widget's shadow root."""
    return page.evaluate(
        f"([arg]) => {{ const root = document.querySelector('askoleus-widget').shadowRoot; {script} }}", [arg]
    )


def open_widget(page: Any) -> None:
    page.locator(".launcher").click()
    expect(page.get_by_role("dialog", name="Ask OLEUS")).to_be_visible()


def ask(page: Any, question: str) -> Any:
    """Type and send a question; returns the locator of its (finished) answer bubble."""
    before = page.locator(".msg.bot:not(.greeting)").count()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    bubble = page.locator(".msg.bot:not(.greeting)").nth(before)
    expect(bubble).to_have_attribute("aria-busy", "false")
    return bubble


def sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def fake_api(page: Any, responder: Callable[[Any], dict[str, Any]]) -> None:
    """Route the widget's /v1/ask/stream to `responder(request) -> fulfill kwargs` (CORS headers added)."""
    cors = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Expose-Headers": "Retry-After",
    }

    def handle(route: Any) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        kwargs = responder(route.request)
        if "abort" in kwargs:
            route.abort(kwargs["abort"])
            return
        kwargs["headers"] = {**cors, **kwargs.get("headers", {})}
        route.fulfill(**kwargs)

    page.unroute("**/v1/ask/stream")
    page.route("**/v1/ask/stream", handle)


def fake_answer(
    text: str, status: str = "answered", citations: list[dict[str, Any]] | None = None, **meta: Any
) -> dict[str, Any]:
    body = sse(
        (
            "meta",
            {
                "status": status,
                "conversation_id": "conv-fake-123",
                "answer_id": "ans-fake-123",
                "index_generation": "g",
                "citations": citations or [],
                "related": [],
                **meta,
            },
        ),
        ("delta", {"text": text}),
        ("disclaimer", {"disclaimer": DISCLAIMER}),
        ("done", {"status": status, "took_ms": 1.0}),
    )
    return {"status": 200, "body": body, "headers": {"Content-Type": "text/event-stream"}}


def login_console(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/console")
    page.get_by_label("Staff key").fill(live_server.staff_key)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("tab", name="Ask", exact=True)).to_be_visible()


# ------------------------------------------------------------------ tests


def test_widget_answers_with_citations_then_thumbs_down_reaches_console(
    new_page: Callable[..., Any], host: Host, live_server: Any
) -> None:
    page = new_page()
    host.open(page)
    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    open_widget(page)
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="Why is iron important for runners?")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "widget-open.png"))

    bubble = ask(page, IRON_Q)
    expect(bubble).to_have_class(re.compile(r"\banswered\b"))
    expect(bubble.locator(".text")).to_contain_text("Iron")
    links = bubble.locator(f'a[href*="{SECTION_ANCHOR}"]')
    expect(links.first).to_be_visible()
    assert links.count() >= 2  # the [n] marker in the text and the card's "Read the section"
    expect(bubble.get_by_role("link", name=re.compile("Read the section"))).to_have_count(1)
    expect(bubble.locator(".text a.cite").first).to_have_attribute("href", re.compile(SECTION_ANCHOR))
    expect(bubble.locator(".disclaimer")).to_contain_text(DISCLAIMER)
    expect(bubble.locator(".text")).not_to_contain_text("Food and Drug")  # not repeated in the answer text
    expect(bubble.locator(".study").first).to_contain_text("Study: ")
    conversation = page.evaluate("() => sessionStorage.getItem('askoleus.conversation')")
    assert conversation
    assert len(conversation) >= 8
    page.screenshot(path=str(ARTIFACTS / "widget-answered.png"))

    off_topic = ask(page, FRANCE_Q)
    expect(off_topic).to_have_class(re.compile(r"\bnot_covered\b"))
    expect(off_topic).to_contain_text("don't cover")
    expect(off_topic.locator(".disclaimer")).to_contain_text(DISCLAIMER)

    down = bubble.get_by_role("button", name="Not helpful")
    down.click()
    expect(bubble.get_by_text("Thanks for your feedback")).to_be_visible()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(bubble.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "false")

    console = new_page()
    login_console(console, live_server)
    console.get_by_role("tab", name="Thumbs down").click()
    item = console.locator(".thumb").filter(has_text=IRON_Q).first
    expect(item).to_be_visible()
    expect(item.locator(".citation").first).to_contain_text("Why would your engine be underpowered")
    console.get_by_role("tab", name="Recent questions").click()
    expect(console.locator("#recent-result")).to_contain_text(FRANCE_Q)
    console.get_by_label("Feedback").select_option("down")
    expect(console.locator("#recent-result")).not_to_contain_text(FRANCE_Q)
    expect(console.locator("#recent-result")).to_contain_text(IRON_Q)
    console.get_by_role("tab", name="Content gaps").click()
    expect(console.locator("#gaps-result")).to_contain_text(FRANCE_Q)


def test_console_login_ask_search_export(new_page: Callable[..., Any], live_server: Any) -> None:
    page = new_page()
    page.goto(f"{live_server.url}/console")
    page.get_by_label("Staff key").fill("not-the-right-key")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong key")
    expect(page.get_by_role("tablist")).to_be_hidden()

    login_console(page, live_server)
    page.get_by_label("Question", exact=True).fill(IRON_Q)
    page.get_by_role("button", name="Ask", exact=True).click()
    result = page.locator("#ask-result")
    expect(result.locator(".pill").first).to_have_text("Answered")
    expect(result.locator(".citation").first).to_contain_text("Why would your engine be underpowered")
    expect(result.get_by_role("heading", name=re.compile(r"Retrieved passages \(\d+\)"))).to_be_visible()
    assert result.locator("table tbody tr").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

    page.get_by_role("tab", name="Search").click()
    page.get_by_label("Search passages").fill("iron mitochondria")
    page.get_by_role("button", name="Search", exact=True).click()
    rows = page.locator("#search-result table tbody tr")
    expect(rows.first).to_contain_text("Iron")

    page.get_by_role("tab", name="Most asked").click()
    expect(page.locator("#top-result table")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    csv_path = download.value.path()
    assert csv_path
    assert Path(csv_path).read_text(encoding="utf-8").splitlines()[0]
    assert download.value.suggested_filename.endswith(".csv")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Staff key")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('askoleus.staffKey')") is None


def test_keyboard_only(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    on_launcher = "() => document.activeElement?.shadowRoot?.activeElement?.classList.contains('launcher') === true"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(on_launcher):
            break
    assert page.evaluate(on_launcher), "Tab never reached the launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Ask OLEUS")).to_be_visible()
    assert shadow_eval(page, "return root.activeElement?.tagName;") == "TEXTAREA"

    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    assert page.get_by_label("Your question").input_value() == "first line\nsecond line"
    page.keyboard.press("Control+A")
    page.keyboard.type(IRON_Q)
    page.keyboard.press("Enter")
    bubble = page.locator(".msg.bot:not(.greeting)").first
    expect(bubble).to_have_attribute("aria-busy", "false")
    expect(bubble.locator("a.cite").first).to_be_visible()
    expect(page.get_by_label("Your question")).to_have_value("")

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert page.evaluate(on_launcher), "focus did not return to the launcher"
    expect(page.get_by_role("button", name="Open chat")).to_have_attribute("aria-expanded", "false")


def test_phone_viewport_panel_fits(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    host.open(page)
    open_widget(page)
    ask(page, IRON_Q)
    box = page.get_by_role("dialog").bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= 375 + 0.5 and box["y"] + box["height"] <= 740 + 0.5, box
    assert box["width"] >= 360, box  # (nearly) full width on phones
    for name in ("Close chat", "Send"):
        b = page.get_by_role("button", name=name).bounding_box()
        assert b and b["x"] >= 0 and b["x"] + b["width"] <= 375 and b["y"] + b["height"] <= 740, (name, b)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375  # no sideways scroll
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    page.get_by_role("button", name="Close chat").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()


def test_hostile_host_css_does_not_leak_either_way(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page, "hostile.html")
    assert page.evaluate("() => document.querySelectorAll('askoleus-widget').length") == 1  # included twice
    styles_before = page.evaluate("() => [document.styleSheets.length, document.adoptedStyleSheets.length]")
    fake_api(
        page,
        lambda request: fake_answer(
            "Iron carries oxygen [1].",
            citations=[
                {
                    "n": 1,
                    "title": "Why your legs feel heavy",
                    "url": "https://example.org/a#s",
                    "section": "Iron",
                    "snippet": "Iron carries oxygen.",
                    "source": "a.txt",
                    "score": 0.9,
                    "chunk_id": "a/1",
                    "references": [],
                }
            ],
        ),
    )

    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()
    expect(launcher).to_contain_text("Ask OLEUS")  # the first copy's options, not the second's
    open_widget(page)
    bubble = ask(page, "why is iron important?")
    expect(bubble.locator("a.cite")).to_be_visible()

    styles = shadow_eval(
        page,
        """
        const pick = (sel) => { const e = root.querySelector(sel); const s = getComputedStyle(e);
          return {display: s.display, color: s.color, fontSize: s.fontSize, visibility: s.visibility,
                  background: s.backgroundColor, border: s.borderTopStyle, family: s.fontFamily}; };
        return {launcher: pick('.launcher'), send: pick('.send'), close: pick('.close'),
                input: pick('textarea'), text: pick('.msg.bot:not(.greeting) .text'), title: pick('h2'),
                cite: pick('.cite'), card: pick('.card')};
    """,
    )
    for name, s in styles.items():
        assert s["color"] != "rgb(255, 0, 0)", (name, s)
        assert s["fontSize"] != "40px", (name, s)
        assert s["display"] != "none", (name, s)
        assert s["visibility"] == "visible", (name, s)
        assert "Comic" not in s["family"], (name, s)
        assert s["background"] != "rgb(255, 255, 0)", (name, s)
        assert s["border"] != "dotted", (name, s)
    assert styles["launcher"]["display"] == "flex"
    assert styles["text"]["display"] == "block"
    assert styles["text"]["fontSize"] == "15px"
    assert styles["cite"]["display"] == "inline-flex"

    # ...and the widget added no global CSS and left the host's own styling alone.
    assert page.evaluate("() => [document.styleSheets.length, document.adoptedStyleSheets.length]") == styles_before
    host_p = page.evaluate(
        "() => { const s = getComputedStyle(document.getElementById('host-text')); return [s.color, s.fontSize]; }"
    )
    assert host_p == ["rgb(255, 0, 0)", "40px"]


def test_api_text_is_rendered_inert(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    evil_citation = {
        "n": 1,
        "title": f"Title {XSS}",
        "url": "javascript:window.__xss=2",
        "section": f"Section {XSS}",
        "snippet": f"Snippet {XSS}",
        "source": "x.txt",
        "score": 0.5,
        "chunk_id": "x/1",
        "references": [{"n": 1, "text": XSS, "authors": XSS, "year": "2020", "title": XSS, "journal": XSS}],
    }
    fake_api(
        page,
        lambda request: fake_answer(
            f"Before {XSS} after [1]. <b>bold?</b> [9]",
            citations=[evil_citation],
            related=[{"title": XSS, "url": "javascript:window.__xss=3"}],
        ),
    )
    open_widget(page)
    bubble = ask(page, "is this safe?")
    expect(bubble.locator(".text")).to_contain_text(f"Before {XSS} after")
    expect(bubble.locator(".text")).to_contain_text("<b>bold?</b> [9]")  # unknown marker stays text
    expect(bubble.locator(".snippet")).to_have_text(f"Snippet {XSS}")
    page.wait_for_timeout(300)  # give a (wrongly) inserted <img> time to fire onerror
    counts = shadow_eval(
        page,
        """
        return {img: root.querySelectorAll('img').length, b: root.querySelectorAll('b').length,
                js: [...root.querySelectorAll('a')].filter(a => !/^https?:/.test(a.href)).length};
    """,
    )
    assert counts == {"img": 0, "b": 0, "js": 0}
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    # a disallowed URL gives a button that focuses the card instead of a link
    bubble.locator("button.cite").click()
    assert shadow_eval(page, "return root.activeElement?.classList.contains('card');") is True


def test_errors_keep_the_question_and_retry(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    open_widget(page)
    box = page.get_by_label("Your question")

    fake_api(
        page,
        lambda request: {
            "status": 429,
            "headers": {"Retry-After": "7", "Content-Type": "application/json"},
            "body": json.dumps({"error": {"code": "rate_limited", "message": "slow down"}}),
        },
    )
    box.fill("how should I recover?")
    box.press("Enter")
    alert = page.locator(".error")
    expect(alert).to_contain_text(re.compile(r"Too many questions — please wait [67] seconds"))
    expect(box).to_have_value("how should I recover?")
    expect(alert.get_by_role("button", name="Retry")).to_be_disabled()

    fake_api(
        page,
        lambda request: {
            "status": 503,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": {"code": "index_not_found", "message": "x"}}),
        },
    )
    box.press("Enter")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("We're busy right now")
    expect(box).to_have_value("how should I recover?")

    fake_api(
        page,
        lambda request: {
            "status": 200,
            "headers": {"Content-Type": "text/event-stream"},
            "body": sse(("error", {"error": {"code": "internal_error", "message": "x"}})),
        },
    )
    alert.get_by_role("button", name="Retry").click()
    expect(alert).to_contain_text("Something went wrong on our side")

    page.unroute("**/v1/ask/stream")
    page.context.set_offline(True)
    alert.get_by_role("button", name="Retry").click()
    expect(alert).to_contain_text("You're offline")
    expect(box).to_have_value("how should I recover?")
    page.context.set_offline(False)

    seen: list[dict[str, Any]] = []

    def ok(request: Any) -> dict[str, Any]:
        seen.append(json.loads(request.post_data))
        return fake_answer("Rest and refuel.")

    fake_api(page, ok)
    alert.get_by_role("button", name="Retry").click()
    expect(page.locator(".msg.bot:not(.greeting) .text")).to_have_text("Rest and refuel.")
    expect(page.locator(".error")).to_have_count(0)
    expect(page.locator(".msg.user")).to_have_count(1)  # the retried question is shown once
    expect(box).to_have_value("")
    assert seen[-1]["question"] == "how should I recover?"

    box.fill("and magnesium?")
    box.press("Enter")
    expect(page.locator(".msg.bot:not(.greeting)")).to_have_count(2)
    expect(page.locator(".msg.bot:not(.greeting)").nth(1)).to_have_attribute("aria-busy", "false")
    assert seen[-1] == {"question": "and magnesium?", "conversation_id": "conv-fake-123"}


def test_slow_answer_times_out_with_a_friendly_message(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    page.clock.install()
    host.open(page)
    held: list[Any] = []

    def hold(route: Any) -> None:  # never answer: the widget's own 20 s timeout must fire
        if route.request.method == "OPTIONS":
            route.fulfill(
                status=204, headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}
            )
        else:
            held.append(route)

    page.route("**/v1/ask/stream", hold)
    open_widget(page)
    box = page.get_by_label("Your question")
    box.fill("why do my legs feel heavy?")
    box.press("Enter")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    for _ in range(100):  # wait (in real time) for the request to reach the route
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the request never reached the network"
    page.clock.run_for(21_000)
    expect(page.locator(".error")).to_contain_text("That took too long")
    expect(box).to_have_value("why do my legs feel heavy?")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


# ------------------------------------------------------------------ shared helpers, follow-ups, language, errors

STATIC = Path(__file__).parents[1] / "src" / "askoleus" / "static"
SHARED = re.compile(r"// ---- shared:begin.*?// ---- shared:end", re.S)


def shared_block(name: str) -> str:
    found = SHARED.findall((STATIC / name).read_text(encoding="utf-8"))
    assert len(found) == 1, f"{name} must carry exactly one shared-helpers block"
    return str(found[0])


def test_widget_and_console_carry_the_same_helpers(new_page: Callable[..., Any]) -> None:
    """el, str, safeUrl, apiError and the storage helpers are one block, byte for byte, in both files."""
    assert shared_block("widget.js") == shared_block("console.js")
    page = new_page()
    page.goto("about:blank")
    results = page.evaluate(
        """(block) => {
          const h = new Function(block + "\\nreturn {el, str, safeUrl, apiError};")();
          const url = (u, o) => h.safeUrl(u, o);
          const node = h.el("p", {class: "c", text: 5, title: "<b>", hidden: true, skip: null, no: false},
                            ["a", 1, null, false, h.el("i")]);
          let inline = "";
          try { h.el("a", {onclick: "x()"}); } catch (e) { inline = e.message; }
          return {
            js: url("javascript:alert(1)"), jsUpper: url(" JaVaScRiPt:alert(1)"), jsTab: url("java\\tscript:alert(1)"),
            data: url("data:text/html,<b>x</b>"), vb: url("vbscript:x"), blank: url("  "), number: url(5),
            https: url("https://example.org/a#s"), relative: url("/x"),
            otherOrigin: url("https://evil.example/", ["https://example.org"]),
            sameOrigin: url("https://example.org/p", ["https://example.org"]),
            html: node.outerHTML, inline: inline, strs: [h.str(null), h.str(undefined), h.str(0), h.str("x")],
            error: h.apiError({error: {code: "rate_limited", message: "slow", request_id: "r1"}}),
            noError: h.apiError("<html>"),
          };
        }""",
        shared_block("widget.js"),
    )
    for refused in ("js", "jsUpper", "jsTab", "data", "vb", "blank", "number"):
        assert results[refused] is None, refused
    assert results["https"] == "https://example.org/a#s"
    assert results["relative"] is None  # about:blank is no base for a link
    assert results["otherOrigin"] is None
    assert results["sameOrigin"] == "https://example.org/p"
    assert results["html"] == '<p class="c" title="&lt;b&gt;" hidden="">5a1<i></i></p>'
    assert "no inline event handlers" in results["inline"]
    assert results["strs"] == ["", "", "0", "x"]
    assert results["error"] == {"code": "rate_limited", "message": "slow", "requestId": "r1"}
    assert results["noError"] == {"code": "", "message": "", "requestId": ""}


FOLLOW_UPS = {
    "why is iron important?": ["What is ferritin?", "How much iron do runners need?"],
    "What is ferritin?": ["Why do my legs feel heavy?"],
}


def follow_up_api(page: Any, seen: list[dict[str, Any]]) -> None:
    """A stub API whose answers offer the follow-up questions in FOLLOW_UPS."""

    def respond(request: Any) -> dict[str, Any]:
        body = json.loads(request.post_data)
        seen.append(body)
        q = body["question"]
        return fake_answer(f"Answer to: {q}", suggestions=FOLLOW_UPS.get(q, []), language="en")

    fake_api(page, respond)


def test_follow_up_chips_ask_their_question(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    seen: list[dict[str, Any]] = []
    follow_up_api(page, seen)
    open_widget(page)
    first = ask(page, "why is iron important?")

    chips = first.get_by_role("group", name="You could also ask")
    expect(chips.get_by_role("button")).to_have_text(["What is ferritin?", "How much iron do runners need?"])
    ferritin = chips.get_by_role("button", name="What is ferritin?", exact=True)
    ferritin.click()

    second = page.locator(".msg.bot:not(.greeting)").nth(1)
    expect(second).to_have_attribute("aria-busy", "false")
    expect(second.locator(".text")).to_have_text("Answer to: What is ferritin?")
    assert seen[-1] == {"question": "What is ferritin?", "conversation_id": "conv-fake-123"}
    expect(page.locator(".msg.user").nth(1)).to_contain_text("What is ferritin?")
    expect(first.locator(".suggest")).to_have_count(0)  # only the newest answer offers follow-ups
    expect(second.get_by_role("button", name="Why do my legs feel heavy?", exact=True)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "widget-follow-ups.png"))


def test_follow_up_chips_work_from_the_keyboard(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    seen: list[dict[str, Any]] = []
    follow_up_api(page, seen)
    open_widget(page)
    ask(page, "why is iron important?")  # typed and sent with Enter: focus is in the input

    focused = """
        const a = root.activeElement, s = getComputedStyle(a);
        return {text: a.textContent, tag: a.tagName, outline: s.outlineStyle, width: s.outlineWidth};
    """
    page.keyboard.press("Shift+Tab")  # the composer's previous stop is the last chip of the newest answer
    assert shadow_eval(page, focused) == {
        "text": "How much iron do runners need?",
        "tag": "BUTTON",
        "outline": "solid",
        "width": "3px",
    }
    page.keyboard.press("Shift+Tab")
    assert shadow_eval(page, focused)["text"] == "What is ferritin?"
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot:not(.greeting)").nth(1)).to_have_attribute("aria-busy", "false")
    assert seen[-1]["question"] == "What is ferritin?"
    assert shadow_eval(page, "return root.activeElement?.tagName;") == "TEXTAREA"  # the chip went away, focus did not


def test_no_follow_ups_when_not_answered(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    fake_api(
        page,
        lambda request: fake_answer("We don't cover that.", status="not_covered", suggestions=["What is ferritin?"]),
    )
    open_widget(page)
    bubble = ask(page, "what's the capital of France?")
    expect(bubble).to_have_class(re.compile(r"\bnot_covered\b"))
    expect(bubble.locator(".suggest")).to_have_count(0)


def test_reply_carries_its_language(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    german = "Antworten gibt es nur auf Englisch. Diese Artikel könnten helfen:"
    fake_api(page, lambda request: fake_answer(german, status="not_covered", language="de"))
    open_widget(page)
    bubble = ask(page, "Warum sind meine Beine schwer?")
    expect(bubble).to_have_attribute("lang", "de")
    expect(bubble.locator(".text")).to_have_text(german)  # as the server sent it
    expect(page.locator(".msg.user").last).to_have_attribute("lang", "de")  # the question's language too
    expect(bubble.locator(".disclaimer")).to_contain_text(DISCLAIMER)
    # the widget's own labels inside the bubble stay English
    assert (
        shadow_eval(page, "return root.querySelector('.msg.bot:not(.greeting) .feedback').closest('[lang]').lang;")
        == "en"
    )
    assert shadow_eval(page, "return root.querySelector('.root').lang;") == "en"

    fake_api(page, lambda request: fake_answer("Iron carries oxygen.", language='en" onload="x'))
    bubble = ask(page, "and iron?")
    expect(bubble.locator(".text")).to_have_text("Iron carries oxygen.")
    assert bubble.get_attribute("lang") is None  # not a language tag: not used


def test_api_errors_read_as_plain_words(new_page: Callable[..., Any], host: Host) -> None:
    page = new_page()
    host.open(page)
    open_widget(page)
    box = page.get_by_label("Your question")
    alert = page.locator(".error")

    def error(status: int, code: str, message: str, **headers: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message, "request_id": f"req-{status}"}})
        fake_api(
            page,
            lambda request: {
                "status": status,
                "headers": {"Content-Type": "application/json", **headers},
                "body": body,
            },
        )
        box.fill("how should I recover?")
        box.press("Enter")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()

    error(413, "payload_too_large", "request body is too large")
    expect(alert).to_contain_text("That question is too long")
    error(422, "invalid_request", "question is longer than 1000 characters")
    expect(alert).to_contain_text("That question is too long")
    error(422, "invalid_request", "question: must not be empty")
    expect(alert).to_contain_text("We couldn't accept that question: question: must not be empty")
    error(429, "rate_limited", "slow down", **{"Retry-After": "1"})
    expect(alert).to_contain_text("Too many questions — please wait 1 second, then try again.")
    expect(alert).to_contain_text("you can ask again now")  # after the countdown
    expect(alert.get_by_role("button", name="Retry")).to_be_enabled()
    error(503, "overloaded", "the server is busy; try again shortly", **{"Retry-After": "1"})
    expect(alert).to_contain_text("We're busy right now")
    expect(alert).to_contain_text("Reference: req-503")
    error(504, "timeout", "the answer took too long; please try again")
    expect(alert).to_contain_text("That took too long")
    expect(alert).to_have_count(1)
    expect(box).to_have_value("how should I recover?")


def test_console_debug_shows_suggestions_and_language(new_page: Callable[..., Any], live_server: Any) -> None:
    page = new_page()

    def with_follow_ups(route: Any) -> None:  # the real answer, plus the fields the server is gaining
        answer = route.fetch().json()
        answer.setdefault("suggestions", ["What is ferritin?", "How much iron do runners need?"])
        answer.setdefault("language", "en")
        route.fulfill(json=answer)

    page.route("**/v1/ask", with_follow_ups)
    login_console(page, live_server)
    page.get_by_label("Question", exact=True).fill(IRON_Q)
    page.get_by_role("button", name="Ask", exact=True).click()
    result = page.locator("#ask-result")
    expect(result.get_by_role("heading", name=re.compile(r"Suggested next questions \(\d\)"))).to_be_visible()
    expect(result.locator(".suggestions li").first).to_be_visible()
    expect(result.locator(".answer-meta")).to_contain_text("language en")


def test_widget_with_follow_ups_passes_axe(new_page: Callable[..., Any], host: Host) -> None:
    """axe-core (from the axe-playwright-python wheel) finds no WCAG A/AA problem and no label-content mismatch."""
    axe = pytest.importorskip("axe_playwright_python", reason="the axe check needs axe-playwright-python")
    page = new_page()
    host.open(page)
    follow_up_api(page, [])
    open_widget(page)
    ask(page, "why is iron important?")
    page.add_script_tag(content=(Path(axe.__file__).parent / "axe.min.js").read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => {
          const r = await axe.run({include: [["askoleus-widget"]]}, {
            runOnly: {type: "tag",
                      values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice", "experimental"]},
          });
          return r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(" ")), help: v.help}));
        }"""
    )
    rules = page.evaluate("() => axe.getRules(['experimental']).map(r => r.ruleId)")
    assert "label-content-name-mismatch" in rules
    assert violations == []


def test_widget_works_under_a_strict_csp(new_page: Callable[..., Any], host: Host) -> None:
    """No eval, inline handlers or style attributes: a page allowing only the widget's script and API works."""
    page = new_page()
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI), true);"
    )
    host.open(page, "csp.html")
    follow_up_api(page, [])
    open_widget(page)
    expect(page.locator(".launcher")).to_have_css("display", "flex")  # the shadow root's styles apply
    bubble = ask(page, "why is iron important?")
    bubble.get_by_role("button", name="What is ferritin?", exact=True).click()
    expect(page.locator(".msg.bot:not(.greeting)").nth(1)).to_have_attribute("aria-busy", "false")
    assert page.evaluate("() => window.__csp") == []
