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
