/*!
 * askoleus chat widget — embeds the OLEUS blog assistant on any page with one tag:
 *
 *   <script src="https://HOST/widget.js" data-api="https://HOST" defer></script>
 *
 * Options (data attributes on that tag): data-api, data-title, data-greeting, data-accent,
 * data-position ("right" | "left"), data-suggestions ("question one|question two"),
 * data-open ("true"), data-site (comma-separated origins whose links may be clicked).
 *
 * Everything lives in one <askoleus-widget> element with an open shadow root: no global CSS,
 * no globals besides the element name, and no API-provided text is ever parsed as HTML.
 */
(function () {
  "use strict";

  var TAG = "askoleus-widget";
  if (!window.customElements || !window.fetch || customElements.get(TAG)) return; // double inclusion guard

  var SCRIPT = document.currentScript || findScript();
  var STORAGE_KEY = "askoleus.conversation";
  var TIMEOUT_MS = 20000;
  var DEFAULT_ACCENT = "#1f5f46";
  var MARKER = /\[(\d{1,3})\]/g;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z",
    close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z",
    down: "M7.41 8.59 12 13.17l4.59-4.58L18 10l-6 6-6-6z",
    send: "M3 20.5 21.5 12 3 3.5l.01 6.6L16 12 3.01 13.9z",
    thumb: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"
  };

  function findScript() {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(all[i].getAttribute("src") || "")) return all[i];
    }
    return null;
  }

  function readConfig(script) {
    var d = (script && script.dataset) || {};
    var scriptOrigin = "";
    try { scriptOrigin = new URL(script.src, location.href).origin; } catch (e) { scriptOrigin = location.origin; }
    var api = (d.api || scriptOrigin || location.origin).replace(/\/+$/, "");
    var sites = null;
    if (d.site && d.site.trim()) {
      sites = d.site.split(",").map(function (s) {
        try { return new URL(s.trim()).origin; } catch (e) { return null; }
      }).filter(Boolean);
    }
    return {
      api: api,
      title: (d.title || "Ask OLEUS").trim() || "Ask OLEUS",
      greeting: d.greeting || "Hi! Ask me about running, recovery and cellular energy — I answer from the OLEUS blog and show you the sources.",
      accent: d.accent || DEFAULT_ACCENT,
      position: d.position === "left" ? "left" : "right",
      suggestions: (d.suggestions || "").split("|").map(function (s) { return s.trim(); }).filter(Boolean).slice(0, 6),
      open: d.open === "true",
      sites: sites
    };
  }

  var CONFIG = readConfig(SCRIPT);

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
        if (k === "text") node.textContent = attrs[k];
        else if (k === "class") node.className = attrs[k];
        else node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      }
    }
    (children || []).forEach(function (c) {
      if (c == null) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function icon(name, cls) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon" + (cls ? " " + cls : ""));
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function str(v) { return typeof v === "string" ? v : v == null ? "" : String(v); }

  /** The URL if it may become a clickable link (http/https and, with data-site, an allowed origin). */
  function safeUrl(raw) {
    if (typeof raw !== "string" || !raw) return null;
    var u;
    try { u = new URL(raw, location.href); } catch (e) { return null; }
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (CONFIG.sites && CONFIG.sites.indexOf(u.origin) === -1) return null;
    return u.href;
  }

  function storageGet() {
    try { return sessionStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }
  function storageSet(v) {
    try { sessionStorage.setItem(STORAGE_KEY, v); } catch (e) { /* storage disabled */ }
  }

  /** Parse a colour with the browser and pick the text colour (white or ink) with more contrast. */
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function parseRgb(css) {
    var m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/.exec(css || "");
    return m ? [+m[1], +m[2], +m[3]] : null;
  }

  // ---------------------------------------------------------------- styles

  var CSS = [
    ":host { all: initial; }",
    ".root { all: initial; position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;",
    "  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;",
    "  font-size: 15px; line-height: 1.45; color: #1b1f1d; font-weight: 400; font-style: normal;",
    "  letter-spacing: normal; text-align: left; text-transform: none; visibility: visible;",
    "  -webkit-font-smoothing: antialiased; --accent: " + DEFAULT_ACCENT + "; --on-accent: #ffffff; }",
    ".root.left { right: auto; left: 20px; }",
    ".root *, .root *::before, .root *::after { box-sizing: border-box; }",
    "[hidden] { display: none !important; }",
    "button, textarea, input { font: inherit; color: inherit; letter-spacing: inherit; margin: 0; }",
    "button { cursor: pointer; }",
    "a { color: #14553c; text-decoration: underline; text-underline-offset: 2px; }",
    ":focus { outline: none; }",
    ":focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }",
    ".icon { width: 20px; height: 20px; fill: currentColor; flex: none; display: block; }",
    ".sr { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;",
    "  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }",

    /* launcher */
    ".launcher { display: flex; align-items: center; gap: 8px; height: 52px; padding: 0 20px 0 16px;",
    "  border: 0; border-radius: 26px; background: var(--accent); color: var(--on-accent);",
    "  font-size: 15px; font-weight: 600; box-shadow: 0 6px 20px rgba(0,0,0,.22), 0 1px 3px rgba(0,0,0,.2);",
    "  margin-left: auto; transition: transform .15s ease; }",
    ".root.left .launcher { margin-left: 0; }",
    ".launcher:hover { transform: translateY(-1px); }",
    ".launcher .icon { width: 22px; height: 22px; }",
    ".root.open .launcher .i-chat, .root:not(.open) .launcher .i-down { display: none; }",

    /* panel */
    ".panel { position: absolute; bottom: 66px; right: 0; width: 384px; max-width: calc(100vw - 24px);",
    "  height: 600px; max-height: calc(100vh - 110px); display: flex; flex-direction: column;",
    "  background: #ffffff; border-radius: 16px; overflow: hidden;",
    "  box-shadow: 0 16px 48px rgba(0,0,0,.24), 0 2px 6px rgba(0,0,0,.12); border: 1px solid rgba(0,0,0,.08); }",
    ".root.left .panel { right: auto; left: 0; }",
    ".head { display: flex; align-items: center; gap: 10px; padding: 14px 10px 14px 18px;",
    "  background: var(--accent); color: var(--on-accent); flex: none; }",
    ".head h2 { all: unset; flex: 1; font-size: 17px; font-weight: 700; line-height: 1.3; }",
    ".head .sub { display: block; font-size: 12.5px; font-weight: 400; opacity: .92; }",
    ".close { display: flex; align-items: center; justify-content: center; width: 40px; height: 40px;",
    "  border: 0; border-radius: 10px; background: transparent; color: inherit; }",
    ".close:hover { background: rgba(127,127,127,.25); }",
    ".close:focus-visible { outline-color: currentColor; outline-offset: -4px; }",
    ".log { position: relative; flex: 1; overflow-y: auto; padding: 16px 14px 8px; display: flex; flex-direction: column; gap: 12px;",
    "  background: #f6f8f7; overscroll-behavior: contain; }",

    /* messages */
    ".msg { max-width: 92%; padding: 10px 13px; border-radius: 14px; overflow-wrap: anywhere; }",
    ".msg.user { align-self: flex-end; background: var(--accent); color: var(--on-accent);",
    "  border-bottom-right-radius: 4px; white-space: pre-wrap; }",
    ".msg.bot { align-self: flex-start; background: #ffffff; border: 1px solid #dfe5e2;",
    "  border-bottom-left-radius: 4px; width: 92%; }",
    ".msg.greeting { width: auto; }",
    ".msg .text { white-space: pre-wrap; margin: 0; }",
    ".msg[aria-busy='true'] .text::after { content: '\\2009\\25CF'; color: #5b6b64; animation: blink 1s infinite; }",
    "@keyframes blink { 50% { opacity: .2; } }",
    ".typing { display: inline-flex; gap: 4px; padding: 4px 0; }",
    ".typing span { width: 7px; height: 7px; border-radius: 50%; background: #6b7a73; animation: blink 1.2s infinite; }",
    ".typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }",
    ".badge { display: flex; align-items: center; gap: 6px; font-weight: 700; margin: 0 0 4px; }",
    ".badge .sym { font-size: 18px; line-height: 1; }",
    ".msg.not_covered { background: #f1f2f2; border: 1px dashed #9aa3a0; color: #303634; }",
    ".msg.medical_referral { background: #eef4fb; border: 1px solid #9cbbe0; border-left: 5px solid #1d5fa8; color: #14304f; }",
    ".msg.medical_referral .badge { color: #154a85; }",
    ".msg.emergency { background: #fdecea; border: 2px solid #b3261e; border-left-width: 6px; color: #5f0f0a; font-weight: 700; }",
    ".msg.emergency .badge { color: #8c1d18; font-size: 16px; text-transform: uppercase; letter-spacing: .03em; }",
    ".msg.emergency .sym { font-size: 22px; }",
    ".cite { display: inline-flex; align-items: center; justify-content: center; min-width: 20px; height: 18px;",
    "  padding: 0 5px; margin: 0 1px; border-radius: 9px; border: 0; background: #dcebe3; color: #0f4a33;",
    "  font-size: 11.5px; font-weight: 700; line-height: 1; text-decoration: none; vertical-align: 2px; }",
    ".nowrap { white-space: nowrap; }",
    ".cite:hover { background: #c3ddd0; }",
    ".related { margin: 8px 0 0; padding: 0 0 0 18px; }",
    ".related li { margin: 2px 0; }",
    ".sources { list-style: none; margin: 10px 0 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }",
    ".card { border: 1px solid #dfe5e2; border-radius: 10px; padding: 8px 10px; background: #fbfcfb; font-size: 13.5px; font-weight: 400; color: #1b1f1d; }",
    ".card:focus { outline: 3px solid #1a73e8; outline-offset: 1px; }",
    ".card .top { display: flex; gap: 8px; align-items: baseline; }",
    ".card .num { flex: none; display: inline-flex; align-items: center; justify-content: center; min-width: 20px; height: 20px;",
    "  border-radius: 10px; background: #dcebe3; color: #0f4a33; font-size: 11.5px; font-weight: 700; }",
    ".card .title { font-weight: 650; }",
    ".card .section { display: block; color: #4a5651; font-size: 12.5px; }",
    ".card .snippet { margin: 6px 0 0; color: #333b37; border-left: 3px solid #c9d6cf; padding-left: 8px;",
    "  display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }",
    ".card .study { margin: 6px 0 0; color: #4a5651; font-size: 12.5px; font-style: italic; }",
    ".card .read { display: inline-block; margin-top: 6px; font-weight: 600; font-size: 13px; }",
    ".disclaimer { margin: 10px 0 0; padding-top: 8px; border-top: 1px solid rgba(0,0,0,.14);",
    "  font-size: 11.5px; line-height: 1.4; color: #58625e; font-weight: 400; }",
    ".msg.emergency .disclaimer { color: #6b2420; }",
    ".feedback { display: flex; align-items: center; gap: 4px; margin-top: 8px; flex-wrap: wrap; }",
    ".fb { display: inline-flex; align-items: center; justify-content: center; width: 34px; height: 30px;",
    "  border: 1px solid #cfd8d4; border-radius: 8px; background: #ffffff; color: #4a5651; }",
    ".fb .icon { width: 16px; height: 16px; }",
    ".fb.down .icon { transform: rotate(180deg); }",
    ".fb:hover { background: #eef3f0; }",
    ".fb[aria-pressed='true'] { background: var(--accent); color: var(--on-accent); border-color: var(--accent); }",
    ".fb-note { font-size: 12.5px; color: #4a5651; margin-left: 6px; font-weight: 400; }",
    ".error { align-self: stretch; padding: 10px 12px; border-radius: 12px; background: #fff4e5;",
    "  border: 1px solid #e0a44a; color: #4d2f00; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }",
    ".error p { margin: 0; flex: 1 1 180px; }",
    ".retry { border: 1px solid #8a5a00; background: #ffffff; color: #4d2f00; border-radius: 8px; padding: 5px 12px; font-weight: 600; }",
    ".retry:disabled { opacity: .6; cursor: default; }",

    /* chips and composer */
    ".chips { display: flex; gap: 6px; flex-wrap: wrap; padding: 8px 14px 0; background: #f6f8f7; flex: none; }",
    ".chip { border: 1px solid var(--accent); background: #ffffff; color: #14553c; border-radius: 16px;",
    "  padding: 5px 11px; font-size: 13px; text-align: left; line-height: 1.3; }",
    ".chip:hover { background: #eef5f1; }",
    ".form { display: flex; gap: 8px; align-items: flex-end; padding: 10px 12px 12px; border-top: 1px solid #e3e8e6;",
    "  background: #ffffff; flex: none; }",
    ".form textarea { flex: 1; resize: none; min-height: 44px; max-height: 120px; padding: 11px 12px;",
    "  border: 1.5px solid #8a9791; border-radius: 12px; background: #ffffff; color: #1b1f1d; line-height: 1.35;",
    "  font-size: 15px; display: block; }",
    ".form textarea::placeholder { color: #66736d; }",
    ".form textarea:focus { border-color: var(--accent); outline: 2px solid var(--accent); outline-offset: 0; }",
    ".send { display: flex; align-items: center; justify-content: center; width: 44px; height: 44px; flex: none;",
    "  border: 0; border-radius: 12px; background: var(--accent); color: var(--on-accent); }",
    ".send:disabled { opacity: .55; cursor: default; }",
    ".foot { margin: 0; padding: 0 12px 8px; background: #ffffff; color: #5b6661; font-size: 11.5px; text-align: center; flex: none; }",

    /* phones: the panel takes the whole screen */
    "@media (max-width: 480px) {",
    "  .root { bottom: 14px; right: 14px; } .root.left { left: 14px; }",
    "  .root.open .launcher { display: none; }",
    "  .msg.bot { width: 100%; max-width: 100%; } .msg.greeting { width: auto; }",
    "  .log { padding: 12px 10px 8px; }",
    "  .panel { position: fixed; inset: 0; width: 100%; max-width: none; height: 100%; max-height: none;",
    "    border-radius: 0; border: 0; }",
    "  .head { padding-top: max(14px, env(safe-area-inset-top)); }",
    "  .form { padding-bottom: max(12px, env(safe-area-inset-bottom)); }",
    "  .form textarea { font-size: 16px; }",
    "}",
    "@media (prefers-reduced-motion: reduce) { * { animation: none !important; transition: none !important; } }",
    "@media (forced-colors: active) { .launcher, .send, .msg, .card, .fb { border: 1px solid CanvasText; } }"
  ].join("\n");

  function applyStyles(shadow) {
    try {
      if (shadow.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        shadow.adoptedStyleSheets = [sheet];
        return;
      }
    } catch (e) { /* fall back to a <style> element */ }
    shadow.appendChild(el("style", { text: CSS }));
  }

  // ---------------------------------------------------------------- SSE

  /** Incremental server-sent-events parser: feed() text chunks, get {event, data} objects. */
  function SSEParser(onEvent) {
    var buffer = "";
    function dispatch(block) {
      var name = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var i = line.indexOf(":");
        var field = i === -1 ? line : line.slice(0, i);
        var value = i === -1 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (!data.length) return;
      var parsed;
      try { parsed = JSON.parse(data.join("\n")); } catch (e) { return; }
      onEvent(name, parsed);
    }
    return {
      feed: function (chunk) {
        buffer += chunk.replace(/\r\n?/g, "\n");
        var i;
        while ((i = buffer.indexOf("\n\n")) !== -1) {
          var block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          dispatch(block);
        }
      },
      end: function () {
        if (buffer.trim()) dispatch(buffer);
        buffer = "";
      }
    };
  }

  function HttpError(status, body, retryAfter) {
    this.name = "HttpError";
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
  function StreamError(body) {
    this.name = "StreamError";
    this.body = body;
  }

  function readJson(res) {
    return res.text().then(function (t) {
      try { return JSON.parse(t); } catch (e) { return null; }
    }, function () { return null; });
  }

  // ---------------------------------------------------------------- the element

  var mounted = new WeakSet();

  class AskOleusWidget extends HTMLElement {
    connectedCallback() {
      if (mounted.has(this)) return;
      mounted.add(this);
      var shadow = this.attachShadow({ mode: "open" });
      applyStyles(shadow);
      build(shadow);
    }
  }

  function build(shadow) {
    var state = {
      open: false,
      busy: false,
      conversationId: storageGet(),
      transcript: [], // in memory only: {role, text, status?, answerId?}
      countdown: null
    };
    var uid = "ao" + Math.random().toString(36).slice(2, 8);

    // --- skeleton
    var root = el("div", { class: "root " + CONFIG.position });
    root.style.setProperty("--accent", CONFIG.accent);

    var launcher = el("button", {
      type: "button", class: "launcher", "aria-label": "Open chat", "aria-expanded": "false",
      "aria-controls": uid + "-panel"
    }, [icon("chat", "i-chat"), icon("down", "i-down"), el("span", { text: CONFIG.title, "aria-hidden": "true" })]);

    var titleEl = el("h2", { id: uid + "-title" }, [
      CONFIG.title,
      el("span", { class: "sub", text: "Answers from the OLEUS blog, with sources" })
    ]);
    var closeBtn = el("button", { type: "button", class: "close", "aria-label": "Close chat" }, [icon("close")]);
    var head = el("div", { class: "head" }, [titleEl, closeBtn]);

    var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": "Conversation", tabindex: "-1" });

    var chips = el("div", { class: "chips", role: "group", "aria-label": "Suggested questions" });
    CONFIG.suggestions.forEach(function (q) {
      var b = el("button", { type: "button", class: "chip", text: q });
      b.addEventListener("click", function () { ask(q); });
      chips.appendChild(b);
    });
    if (!CONFIG.suggestions.length) chips.hidden = true;

    var input = el("textarea", {
      id: uid + "-input", rows: "1", placeholder: "Ask a question…", autocomplete: "off",
      "aria-describedby": uid + "-hint", enterkeyhint: "send"
    });
    var label = el("label", { for: uid + "-input", class: "sr", text: "Your question" });
    var hint = el("span", { id: uid + "-hint", class: "sr", text: "Enter sends, Shift+Enter adds a new line." });
    var sendBtn = el("button", { type: "submit", class: "send", "aria-label": "Send" }, [icon("send")]);
    var form = el("form", { class: "form", novalidate: true }, [label, hint, input, sendBtn]);
    var foot = el("p", { class: "foot", text: "Not medical advice. Answers quote the OLEUS blog." });

    var panel = el("div", {
      class: "panel", id: uid + "-panel", role: "dialog", "aria-label": CONFIG.title, hidden: true
    }, [head, log, chips, form, foot]);

    root.appendChild(panel);
    root.appendChild(launcher);
    shadow.appendChild(root);

    pickOnAccent();
    addGreeting();

    // --- behaviour
    launcher.addEventListener("click", function () { setOpen(!state.open, true); });
    closeBtn.addEventListener("click", function () { setOpen(false, true); });
    root.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Esc") && state.open) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false, true);
      }
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener("input", autosize);
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

    if (CONFIG.open) setOpen(true, false);

    function pickOnAccent() {
      // Resolve the configured accent with the browser, then choose white or ink text for AA contrast.
      var probe = el("span");
      probe.style.color = CONFIG.accent;
      if (!probe.style.color) { // invalid colour: fall back to the default accent
        root.style.setProperty("--accent", DEFAULT_ACCENT);
        return;
      }
      root.appendChild(probe);
      var rgb = parseRgb(getComputedStyle(probe).color);
      root.removeChild(probe);
      if (!rgb) return;
      var white = contrast(rgb, [255, 255, 255]), ink = contrast(rgb, [17, 17, 17]);
      root.style.setProperty("--on-accent", white >= 4.5 || white >= ink ? "#ffffff" : "#111111");
    }

    function autosize() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight + 3, 120) + "px";
    }

    function setOpen(open, moveFocus) {
      state.open = open;
      panel.hidden = !open;
      root.classList.toggle("open", open);
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        scrollDown();
        if (moveFocus) input.focus(); // not when opened on load: never steal focus from the host page
      } else if (moveFocus) {
        launcher.focus();
      }
    }

    function scrollDown() { log.scrollTop = log.scrollHeight; }

    /** Show as much of node as fits, never scrolling its top out of view (long answers read from the top). */
    function reveal(node) {
      var top = node.offsetTop - 10;
      var bottom = node.offsetTop + node.offsetHeight + 10 - log.clientHeight;
      log.scrollTop = Math.max(0, Math.min(top, bottom));
    }

    function addGreeting() {
      var g = el("div", { class: "msg bot greeting" }, [el("p", { class: "text", text: CONFIG.greeting })]);
      log.appendChild(g);
    }

    function submit() {
      var q = input.value.trim();
      if (!q || state.busy) return;
      ask(q);
    }

    // --- asking

    function ask(question) {
      if (state.busy) return;
      if (!state.open) setOpen(true, false);
      clearErrors();
      state.busy = true;
      sendBtn.disabled = true;
      chips.hidden = true;
      input.value = "";
      autosize();

      var userMsg = el("div", { class: "msg user" }, [el("span", { class: "sr", text: "You: " }), question]);
      log.appendChild(userMsg);
      state.transcript.push({ role: "user", text: question });
      var bubble = answerBubble();
      log.appendChild(bubble.node);
      scrollDown();

      var controller = typeof AbortController === "function" ? new AbortController() : null;
      var timedOut = false;
      var timer = setTimeout(function () { timedOut = true; if (controller) controller.abort(); }, TIMEOUT_MS);
      var body = { question: question };
      if (state.conversationId) body.conversation_id = state.conversationId;

      fetch(CONFIG.api + "/v1/ask/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
        credentials: "omit",
        mode: "cors"
      }).then(function (res) {
        if (!res.ok) {
          return readJson(res).then(function (j) {
            throw new HttpError(res.status, j, res.headers.get("Retry-After"));
          });
        }
        return consume(res, bubble);
      }).then(function () {
        clearTimeout(timer);
        bubble.finish();
        state.transcript.push({ role: "assistant", text: bubble.text(), status: bubble.status(), answerId: bubble.answerId() });
        done();
        reveal(bubble.node);
      }).catch(function (err) {
        clearTimeout(timer);
        if (!bubble.hasText()) bubble.node.remove();
        else bubble.finish(true);
        showError(question, userMsg, err, timedOut);
        done();
      });
    }

    function done() {
      state.busy = false;
      sendBtn.disabled = false;
      scrollDown();
    }

    function consume(res, bubble) {
      var failure = null;
      var parser = SSEParser(function (name, data) {
        if (failure) return;
        if (name === "meta") {
          if (data && typeof data.conversation_id === "string" && data.conversation_id) {
            state.conversationId = data.conversation_id;
            storageSet(data.conversation_id);
          }
          bubble.meta(data || {});
        } else if (name === "delta") {
          bubble.append(str(data && data.text));
        } else if (name === "disclaimer") {
          bubble.disclaimer(str(data && data.disclaimer));
        } else if (name === "done") {
          if (data && data.status) bubble.setStatus(data.status);
        } else if (name === "error") {
          failure = new StreamError(data);
        }
        reveal(bubble.node);
      });
      if (!res.body || !res.body.getReader) {
        return res.text().then(function (t) { parser.feed(t); parser.end(); if (failure) throw failure; });
      }
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) {
            parser.feed(decoder.decode());
            parser.end();
            if (failure) throw failure;
            if (!bubble.hasText()) throw new StreamError(null);
            return;
          }
          parser.feed(decoder.decode(r.value, { stream: true }));
          if (failure) { try { reader.cancel(); } catch (e) { /* ignore */ } throw failure; }
          return pump();
        });
      }
      return pump();
    }

    // --- errors

    function clearErrors() {
      if (state.countdown) { clearInterval(state.countdown); state.countdown = null; }
      // a failed question went back into the input: drop it and its error from the log
      Array.prototype.forEach.call(log.querySelectorAll(".error, .msg.user.failed"), function (n) { n.remove(); });
    }

    function showError(question, userMsg, err, timedOut) {
      var msg, wait = 0;
      if (timedOut) {
        msg = "That took too long. Please try again.";
      } else if (err instanceof HttpError) {
        var apiMsg = err.body && err.body.error && typeof err.body.error.message === "string" ? err.body.error.message : "";
        if (err.status === 429) {
          wait = parseInt(err.retryAfter, 10);
          if (!(wait > 0)) wait = 30;
          msg = null; // filled in by the countdown
        } else if (err.status === 413) {
          msg = "That question is too long — please shorten it and try again.";
        } else if (err.status === 422 || err.status === 400) {
          msg = apiMsg && apiMsg.length <= 200 ? "We couldn't accept that question: " + apiMsg : "We couldn't accept that question — please rephrase it.";
        } else {
          msg = "Something went wrong on our side. Please try again in a moment.";
        }
      } else if (err instanceof StreamError) {
        msg = "Something went wrong on our side. Please try again in a moment.";
      } else if (typeof navigator !== "undefined" && navigator.onLine === false) {
        msg = "You're offline. Check your connection and try again.";
      } else {
        msg = "You're offline or we can't be reached right now. Check your connection and try again.";
      }

      userMsg.classList.add("failed");
      var text = el("p", { text: msg || "" });
      var retry = el("button", { type: "button", class: "retry", text: "Retry" });
      var box = el("div", { class: "error", role: "alert" }, [text, retry]);
      log.appendChild(box);

      // keep the reader's question so they can retry (or edit it)
      if (!input.value.trim()) { input.value = question; autosize(); }
      if (state.transcript.length && state.transcript[state.transcript.length - 1].role === "user") state.transcript.pop();

      if (wait > 0) {
        var left = wait;
        var tick = function () {
          text.textContent = left > 0
            ? "Too many questions — please wait " + left + " second" + (left === 1 ? "" : "s") + ", then try again."
            : "Thanks for waiting — you can ask again now.";
          retry.disabled = left > 0;
        };
        tick();
        state.countdown = setInterval(function () {
          left -= 1;
          tick();
          if (left <= 0) { clearInterval(state.countdown); state.countdown = null; }
        }, 1000);
      }

      retry.addEventListener("click", function () {
        ask(input.value.trim() || question);
      });
      scrollDown();
    }

    // --- one answer bubble

    function answerBubble() {
      var status = "answered";
      var answerId = null;
      var citations = [];
      var full = "";
      var node = el("div", { class: "msg bot", "aria-busy": "true" });
      var badge = el("p", { class: "badge", hidden: true });
      var typing = el("span", { class: "typing", "aria-label": "Thinking" }, [el("span"), el("span"), el("span")]);
      var text = el("p", { class: "text", hidden: true });
      var extras = el("div");
      var disc = el("p", { class: "disclaimer", hidden: true });
      var fb = el("div", { class: "feedback", hidden: true });
      node.appendChild(el("span", { class: "sr", text: "Assistant: " }));
      node.append(badge, typing, text, extras, disc, fb);
      var cardIds = {};

      function setStatus(s) {
        if (["answered", "not_covered", "medical_referral", "emergency"].indexOf(s) === -1) s = "answered";
        status = s;
        node.classList.remove("answered", "not_covered", "medical_referral", "emergency");
        node.classList.add(s);
        badge.textContent = "";
        badge.hidden = true;
        node.removeAttribute("role");
        if (s === "emergency") {
          node.setAttribute("role", "alert");
          badge.append(el("span", { class: "sym", "aria-hidden": "true", text: "⚠" }), el("span", { text: "Seek medical help now" }));
          badge.hidden = false;
        } else if (s === "medical_referral") {
          badge.append(el("span", { class: "sym", "aria-hidden": "true", text: "ℹ" }), el("span", { text: "Please ask a health professional" }));
          badge.hidden = false;
        }
      }

      function renderText() {
        text.textContent = "";
        var last = 0, m;
        MARKER.lastIndex = 0;
        while ((m = MARKER.exec(full)) !== null) {
          var n = parseInt(m[1], 10);
          var c = citationFor(n);
          if (!c) continue;
          // glue the marker to the word before it so it never wraps onto a line of its own
          var before = full.slice(last, m.index);
          var tail = /(\S{1,40})(\s?)$/.exec(before);
          var glued = el("span", { class: "nowrap" });
          if (tail) {
            before = before.slice(0, tail.index);
            glued.appendChild(document.createTextNode(tail[1] + (tail[2] ? "\u00a0" : "")));
          }
          if (before) text.appendChild(document.createTextNode(before));
          glued.appendChild(markerNode(n, c));
          text.appendChild(glued);
          last = m.index + m[0].length;
        }
        if (last < full.length) text.appendChild(document.createTextNode(full.slice(last)));
      }

      function citationFor(n) {
        for (var i = 0; i < citations.length; i++) if (citations[i] && citations[i].n === n) return citations[i];
        return null;
      }

      function markerNode(n, c) {
        var href = safeUrl(c.url);
        var label = "Source " + n + ": " + str(c.title) + (c.section ? " — " + str(c.section) : "");
        var node;
        if (href) {
          node = el("a", { class: "cite", href: href, target: "_blank", rel: "noopener noreferrer",
            "aria-label": label, title: label, text: String(n) });
        } else {
          node = el("button", { type: "button", class: "cite", "aria-label": label, title: label, text: String(n) });
          node.addEventListener("click", function () {
            var card = cardIds[n];
            if (card) { card.scrollIntoView({ block: "nearest" }); card.focus(); }
          });
        }
        return node;
      }

      function studyLine(r) {
        if (!r) return "";
        var authors = str(r.authors).trim(), year = str(r.year).trim();
        var title = str(r.title).trim(), journal = str(r.journal).trim();
        if (!authors && !title) return str(r.text).trim() ? "Study: " + str(r.text).trim() : "";
        var s = "Study: " + (authors || "Unknown authors");
        if (year) s += " (" + year + ")";
        s += ".";
        if (title) s += " " + title.replace(/\.$/, "") + ".";
        if (journal) s += " " + journal.replace(/\.$/, "") + ".";
        return s;
      }

      function renderCitations() {
        if (!citations.length) return;
        var list = el("ol", { class: "sources", "aria-label": "Sources" });
        citations.forEach(function (c) {
          if (!c || typeof c.n !== "number") return;
          var href = safeUrl(c.url);
          var card = el("li", { class: "card", tabindex: "-1" });
          card.appendChild(el("div", { class: "top" }, [
            el("span", { class: "num", "aria-hidden": "true", text: String(c.n) }),
            el("div", null, [
              el("span", { class: "sr", text: "Source " + c.n + ": " }),
              el("span", { class: "title", text: str(c.title) || "Article" }),
              c.section ? el("span", { class: "section", text: str(c.section) }) : null
            ])
          ]));
          if (c.snippet) card.appendChild(el("p", { class: "snippet", text: str(c.snippet) }));
          (Array.isArray(c.references) ? c.references : []).slice(0, 3).forEach(function (r) {
            var line = studyLine(r);
            if (line) card.appendChild(el("p", { class: "study", text: line }));
          });
          if (href) {
            card.appendChild(el("a", { class: "read", href: href, target: "_blank", rel: "noopener noreferrer",
              "aria-label": "Read the section: " + (str(c.section) || str(c.title)) }, ["Read the section"]));
          }
          cardIds[c.n] = card;
          list.appendChild(card);
        });
        extras.appendChild(list);
      }

      function renderRelated(related) {
        var items = (Array.isArray(related) ? related : []).filter(function (r) { return r && safeUrl(r.url); });
        if (!items.length) return;
        var ul = el("ul", { class: "related", "aria-label": "Related articles" });
        items.slice(0, 5).forEach(function (r) {
          ul.appendChild(el("li", null, [el("a", { href: safeUrl(r.url), target: "_blank", rel: "noopener noreferrer",
            text: str(r.title) || safeUrl(r.url) })]));
        });
        extras.appendChild(ul);
      }

      function renderFeedback() {
        if (!answerId) return;
        var note = el("span", { class: "fb-note", role: "status" });
        var up = el("button", { type: "button", class: "fb up", "aria-label": "Helpful", "aria-pressed": "false" }, [icon("thumb")]);
        var down = el("button", { type: "button", class: "fb down", "aria-label": "Not helpful", "aria-pressed": "false" }, [icon("thumb")]);
        function vote(rating, btn, other) {
          if (btn.getAttribute("aria-pressed") === "true") return;
          btn.setAttribute("aria-pressed", "true");
          other.setAttribute("aria-pressed", "false");
          note.textContent = "Sending…";
          fetch(CONFIG.api + "/v1/feedback", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ answer_id: answerId, rating: rating }),
            credentials: "omit",
            mode: "cors"
          }).then(function (res) {
            if (!res.ok) throw new Error(String(res.status));
            note.textContent = "Thanks for your feedback";
            var t = state.transcript.filter(function (x) { return x.answerId === answerId; })[0];
            if (t) t.rating = rating;
          }).catch(function () {
            btn.setAttribute("aria-pressed", "false");
            note.textContent = "Couldn't send your feedback — please try again.";
          });
        }
        up.addEventListener("click", function () { vote("up", up, down); });
        down.addEventListener("click", function () { vote("down", down, up); });
        fb.append(up, down, note);
        fb.setAttribute("role", "group");
        fb.setAttribute("aria-label", "Was this helpful?");
        fb.hidden = false;
      }

      return {
        node: node,
        meta: function (m) {
          answerId = typeof m.answer_id === "string" && m.answer_id ? m.answer_id : null;
          citations = Array.isArray(m.citations) ? m.citations.filter(function (c) { return c && typeof c.n === "number"; }) : [];
          setStatus(m.status);
          extras.textContent = "";
          if (status === "not_covered") renderRelated(m.related);
          renderCitations();
          renderText();
        },
        append: function (t) {
          if (!t) return;
          full += t;
          typing.hidden = true;
          text.hidden = false;
          renderText();
        },
        disclaimer: function (d) {
          disc.textContent = d;
          disc.hidden = !d;
        },
        setStatus: setStatus,
        finish: function (incomplete) {
          typing.hidden = true;
          node.setAttribute("aria-busy", "false");
          if (incomplete) {
            node.appendChild(el("p", { class: "disclaimer", text: "This answer was cut off." }));
            return;
          }
          renderFeedback();
        },
        hasText: function () { return full.length > 0; },
        text: function () { return full; },
        status: function () { return status; },
        answerId: function () { return answerId; }
      };
    }

  }

  customElements.define(TAG, AskOleusWidget);

  function mount() {
    if (document.querySelector(TAG)) return;
    document.body.appendChild(document.createElement(TAG));
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
