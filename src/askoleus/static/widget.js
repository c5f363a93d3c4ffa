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
 *
 * One file, in named parts: config · shared helpers (the same block as console.js) · widget
 * helpers · styles · transport (fetch + SSE) · messages · state · rendering · accessibility
 * (open/close, focus, scrolling) · controller · element.
 */
(function () {
  "use strict";

  var TAG = "askoleus-widget";
  if (!window.customElements || !window.fetch || customElements.get(TAG)) return; // double inclusion guard

  // ================================================================ config

  var SCRIPT = document.currentScript || findScript();
  var STORAGE_KEY = "askoleus.conversation";
  var TIMEOUT_MS = 20000;
  var DEFAULT_ACCENT = "#1f5f46";
  var UI_LANG = "en"; // the language of the widget's own labels
  var MAX_SUGGESTIONS = 3;
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

  // ================================================================ shared helpers

  // ---- shared:begin — this block is identical in widget.js and console.js (a test compares them)

  /** A DOM element: attrs (text, class, or attributes; null/false skipped, true = empty) and child nodes or text. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v == null || v === false) return;
        if (/^on/i.test(k)) throw new Error("el(): no inline event handlers (" + k + "); use addEventListener");
        if (k === "text") node.textContent = String(v);
        else if (k === "class") node.className = String(v);
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c == null || c === false) return;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }

  /** Any value as display text: null and undefined become "". */
  function str(v) { return v == null ? "" : String(v); }

  /** The URL if it may become a link: http(s) only (no javascript:, data:, …) and, given origins, one of them. */
  function safeUrl(raw, origins) {
    if (typeof raw !== "string" || !raw.trim()) return null;
    var u;
    try { u = new URL(raw, location.href); } catch (e) { return null; }
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (origins && origins.indexOf(u.origin) === -1) return null;
    return u.href;
  }

  /** The API's JSON error shape {"error": {code, message, request_id}} as plain strings ("" when absent). */
  function apiError(body) {
    var e = body && typeof body === "object" && body.error && typeof body.error === "object" ? body.error : {};
    return {
      code: typeof e.code === "string" ? e.code : "",
      message: typeof e.message === "string" ? e.message : "",
      requestId: typeof e.request_id === "string" ? e.request_id : ""
    };
  }

  /** sessionStorage that never throws (storage can be disabled): get gives null, set/remove do nothing. */
  function storageGet(key) {
    try { return sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { sessionStorage.setItem(key, value); } catch (e) { /* storage disabled */ }
  }
  function storageRemove(key) {
    try { sessionStorage.removeItem(key); } catch (e) { /* storage disabled */ }
  }

  // ---- shared:end

  // ================================================================ widget helpers

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

  /** A link target the widget may use: http(s), and one of the data-site origins when those are set. */
  function linkUrl(raw) { return safeUrl(raw, CONFIG.sites); }

  /** A BCP 47 language tag worth putting in lang="" (the API sends ISO 639-1, e.g. "de"), else null. */
  function langTag(v) {
    return typeof v === "string" && /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/i.test(v) ? v : null;
  }

  /** Up to MAX_SUGGESTIONS distinct, non-empty question strings. */
  function suggestionList(v) {
    var seen = {};
    return (Array.isArray(v) ? v : []).map(function (s) { return typeof s === "string" ? s.trim() : ""; })
      .filter(function (s) {
        if (!s || s.length > 300 || seen[s]) return false;
        seen[s] = true;
        return true;
      }).slice(0, MAX_SUGGESTIONS);
  }

  /** Relative luminance and contrast (WCAG) of [r, g, b] colours, to pick the text colour on the accent. */
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

  // ================================================================ styles

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
    ".error .ref { flex-basis: 100%; font-size: 11.5px; }",

    /* chips and composer */
    ".chips { display: flex; gap: 6px; flex-wrap: wrap; padding: 8px 14px 0; background: #f6f8f7; flex: none; }",
    ".chip { border: 1px solid var(--accent); background: #ffffff; color: #14553c; border-radius: 16px;",
    "  padding: 5px 11px; font-size: 13px; text-align: left; line-height: 1.3; }",
    ".chip:hover { background: #eef5f1; }",
    ".suggest { margin: 10px 0 0; }",
    ".suggest-label { margin: 0 0 6px; font-size: 12.5px; font-weight: 600; color: #4a5651; }",
    ".suggest-row { display: flex; gap: 6px; flex-wrap: wrap; }",
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

  // ================================================================ transport (fetch + SSE)

  /** Incremental server-sent-events parser: feed() text chunks, get (event, parsed JSON data) calls. */
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

  /** A non-2xx answer: status, the parsed JSON body (or null) and Retry-After. */
  function HttpError(status, body, retryAfter) {
    this.name = "HttpError";
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
  /** An `error` event inside a 200 stream, or a stream that ended without any text. */
  function StreamError(body) {
    this.name = "StreamError";
    this.body = body;
  }

  function readJson(res) {
    return res.text().then(function (t) {
      try { return JSON.parse(t); } catch (e) { return null; }
    }, function () { return null; });
  }

  function postJson(path, body, extra) {
    var opts = {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      mode: "cors"
    };
    for (var k in extra || {}) if (Object.prototype.hasOwnProperty.call(extra, k)) opts[k] = extra[k];
    return fetch(CONFIG.api + path, opts);
  }

  /**
   * Ask over /v1/ask/stream. `on` gets meta(data), delta(text), disclaimer(text), done(data) as the
   * events arrive; the promise resolves when the stream ends and rejects with HttpError, StreamError,
   * or the fetch failure (offline, aborted).
   */
  function streamAnswer(body, on, signal) {
    return postJson("/v1/ask/stream", body, {
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      signal: signal
    }).then(function (res) {
      if (!res.ok) {
        return readJson(res).then(function (j) {
          throw new HttpError(res.status, j, res.headers.get("Retry-After"));
        });
      }
      return consumeStream(res, on);
    });
  }

  function consumeStream(res, on) {
    var failure = null, gotText = false;
    var parser = SSEParser(function (name, data) {
      if (failure) return;
      data = data && typeof data === "object" ? data : {};
      if (name === "meta") on.meta(data);
      else if (name === "delta") { var t = str(data.text); if (t) { gotText = true; on.delta(t); } }
      else if (name === "disclaimer") on.disclaimer(str(data.disclaimer));
      else if (name === "done") on.done(data);
      else if (name === "error") failure = new StreamError(data);
    });
    function finish() {
      parser.end();
      if (failure) throw failure;
      if (!gotText) throw new StreamError(null);
    }
    if (!res.body || !res.body.getReader) {
      return res.text().then(function (t) { parser.feed(t); finish(); });
    }
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) {
          parser.feed(decoder.decode());
          finish();
          return;
        }
        parser.feed(decoder.decode(r.value, { stream: true }));
        if (failure) { try { reader.cancel(); } catch (e) { /* ignore */ } throw failure; }
        return pump();
      });
    }
    return pump();
  }

  function sendFeedback(answerId, rating) {
    return postJson("/v1/feedback", { answer_id: answerId, rating: rating }).then(function (res) {
      if (!res.ok) throw new HttpError(res.status, null, null);
    });
  }

  // ================================================================ messages

  var MSG = {
    timeout: "That took too long. Please try again.",
    tooLong: "That question is too long — please shorten it and try again.",
    rejected: "We couldn't accept that question — please rephrase it.",
    busy: "We're busy right now — please try again in a moment.",
    server: "Something went wrong on our side. Please try again in a moment.",
    offline: "You're offline. Check your connection and try again.",
    unreachable: "You're offline or we can't be reached right now. Check your connection and try again.",
    waitDone: "Thanks for waiting — you can ask again now."
  };

  function waitText(seconds) {
    return "Too many questions — please wait " + seconds + " second" + (seconds === 1 ? "" : "s") + ", then try again.";
  }

  /** A 4xx message that is about the question's length (the API's 422 "longer than N characters"). */
  function isLengthProblem(message) {
    return /\b(too long|longer than|at most \d+ char)/i.test(message);
  }

  /**
   * What to tell the reader about a failed ask: {text, wait (seconds to count down, 429 only),
   * ref (the request id of a server-side failure, for support)}.
   */
  function describeError(err, timedOut) {
    if (timedOut) return { text: MSG.timeout, wait: 0, ref: "" };
    if (err instanceof HttpError) {
      var info = apiError(err.body);
      var s = err.status;
      if (s === 429) {
        var wait = parseInt(err.retryAfter, 10);
        return { text: null, wait: wait > 0 ? Math.min(wait, 3600) : 30, ref: "" };
      }
      if (s === 413 || ((s === 422 || s === 400) && isLengthProblem(info.message))) return { text: MSG.tooLong, wait: 0, ref: "" };
      if (s === 422 || s === 400) {
        var ok = info.message && info.message.length <= 200;
        return { text: ok ? "We couldn't accept that question: " + info.message : MSG.rejected, wait: 0, ref: "" };
      }
      if (s === 503) return { text: MSG.busy, wait: 0, ref: info.requestId };
      if (s === 504 || s === 408) return { text: MSG.timeout, wait: 0, ref: info.requestId };
      return { text: MSG.server, wait: 0, ref: info.requestId };
    }
    if (err instanceof StreamError) {
      var e = apiError(err.body);
      return { text: e.code === "timeout" ? MSG.timeout : MSG.server, wait: 0, ref: e.requestId };
    }
    if (typeof navigator !== "undefined" && navigator.onLine === false) return { text: MSG.offline, wait: 0, ref: "" };
    return { text: MSG.unreachable, wait: 0, ref: "" };
  }

  // ================================================================ state

  /** Everything the widget remembers; the conversation id survives reloads in sessionStorage. */
  function createState() {
    return {
      open: false,
      busy: false,
      conversationId: storageGet(STORAGE_KEY),
      transcript: [], // in memory only: {role, text, status?, answerId?, language?, suggestions?}
      countdown: null
    };
  }

  function rememberConversation(state, id) {
    if (typeof id !== "string" || !id) return;
    state.conversationId = id;
    storageSet(STORAGE_KEY, id);
  }

  // ================================================================ rendering

  /** The static parts: launcher, dialog panel (head, log, starter chips, composer). */
  function renderSkeleton(uid) {
    var root = el("div", { class: "root " + CONFIG.position, lang: UI_LANG });
    root.style.setProperty("--accent", CONFIG.accent);

    // the accessible name starts with the visible title, so "click Ask OLEUS" works for voice control
    var launcher = el("button", {
      type: "button", class: "launcher", "aria-label": CONFIG.title + " — open chat", "aria-expanded": "false",
      "aria-controls": uid + "-panel"
    }, [icon("chat", "i-chat"), icon("down", "i-down"), el("span", { text: CONFIG.title })]);

    var titleEl = el("h2", { id: uid + "-title" }, [
      CONFIG.title,
      el("span", { class: "sub", text: "Answers from the OLEUS blog, with sources" })
    ]);
    var closeBtn = el("button", { type: "button", class: "close", "aria-label": "Close chat" }, [icon("close")]);
    var head = el("div", { class: "head" }, [titleEl, closeBtn]);

    var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": "Conversation", tabindex: "-1" });
    log.appendChild(el("div", { class: "msg bot greeting" }, [el("p", { class: "text", text: CONFIG.greeting })]));

    var chips = el("div", { class: "chips", role: "group", "aria-label": "Suggested questions" });
    var starters = CONFIG.suggestions.map(function (q) {
      var b = el("button", { type: "button", class: "chip", text: q });
      chips.appendChild(b);
      return { button: b, question: q };
    });
    if (!starters.length) chips.hidden = true;

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
    root.append(panel, launcher);

    return { root: root, launcher: launcher, closeBtn: closeBtn, panel: panel, log: log, chips: chips,
      starters: starters, input: input, sendBtn: sendBtn, form: form };
  }

  /** Resolve the configured accent with the browser, then choose white or ink text for AA contrast. */
  function pickOnAccent(root) {
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

  function userMessage(question) {
    return el("div", { class: "msg user" }, [el("span", { class: "sr", text: "You: " }), question]);
  }

  function statusBadge(badge, status) {
    badge.textContent = "";
    badge.hidden = true;
    if (status === "emergency") {
      badge.append(el("span", { class: "sym", "aria-hidden": "true", text: "⚠" }), el("span", { text: "Seek medical help now" }));
      badge.hidden = false;
    } else if (status === "medical_referral") {
      badge.append(el("span", { class: "sym", "aria-hidden": "true", text: "ℹ" }), el("span", { text: "Please ask a health professional" }));
      badge.hidden = false;
    }
  }

  function findCitation(citations, n) {
    for (var i = 0; i < citations.length; i++) if (citations[i] && citations[i].n === n) return citations[i];
    return null;
  }

  /** The answer text into `target`, each known [n] a marker glued to the word before it. */
  function renderAnswerText(target, full, citations, marker) {
    target.textContent = "";
    var last = 0, m;
    MARKER.lastIndex = 0;
    while ((m = MARKER.exec(full)) !== null) {
      var n = parseInt(m[1], 10);
      var c = findCitation(citations, n);
      if (!c) continue;
      // glue the marker to the word before it so it never wraps onto a line of its own
      var before = full.slice(last, m.index);
      var tail = /(\S{1,40})(\s?)$/.exec(before);
      var glued = el("span", { class: "nowrap" });
      if (tail) {
        before = before.slice(0, tail.index);
        glued.appendChild(document.createTextNode(tail[1] + (tail[2] ? "\u00a0" : "")));
      }
      if (before) target.appendChild(document.createTextNode(before));
      glued.appendChild(marker(n, c));
      target.appendChild(glued);
      last = m.index + m[0].length;
    }
    if (last < full.length) target.appendChild(document.createTextNode(full.slice(last)));
  }

  /** A [n] marker: a link to the section, or (URL not allowed) a button that focuses its source card. */
  function citationMarker(n, c, focusCard) {
    var href = linkUrl(c.url);
    var label = "Source " + n + ": " + str(c.title) + (c.section ? " — " + str(c.section) : "");
    if (href) {
      return el("a", { class: "cite", href: href, target: "_blank", rel: "noopener noreferrer",
        "aria-label": label, title: label, text: String(n) });
    }
    var b = el("button", { type: "button", class: "cite", "aria-label": label, title: label, text: String(n) });
    b.addEventListener("click", function () { focusCard(n); });
    return b;
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

  /** The source cards: {list, cards: {n: card}} (null list when there are none). */
  function sourceCards(citations) {
    var cards = {};
    if (!citations.length) return { list: null, cards: cards };
    var list = el("ol", { class: "sources", "aria-label": "Sources" });
    citations.forEach(function (c) {
      var href = linkUrl(c.url);
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
      cards[c.n] = card;
      list.appendChild(card);
    });
    return { list: list, cards: cards };
  }

  function relatedList(related) {
    var items = (Array.isArray(related) ? related : []).filter(function (r) { return r && linkUrl(r.url); });
    if (!items.length) return null;
    var ul = el("ul", { class: "related", "aria-label": "Related articles" });
    items.slice(0, 5).forEach(function (r) {
      ul.appendChild(el("li", null, [el("a", { href: linkUrl(r.url), target: "_blank", rel: "noopener noreferrer",
        text: str(r.title) || linkUrl(r.url) })]));
    });
    return ul;
  }

  /** Thumbs up/down for one answer; vote(rating) must return a promise. */
  function feedbackGroup(vote) {
    var group = el("div", { class: "feedback", role: "group", "aria-label": "Was this helpful?" });
    var note = el("span", { class: "fb-note", role: "status" });
    var up = el("button", { type: "button", class: "fb up", "aria-label": "Helpful", "aria-pressed": "false" }, [icon("thumb")]);
    var down = el("button", { type: "button", class: "fb down", "aria-label": "Not helpful", "aria-pressed": "false" }, [icon("thumb")]);
    function pick(rating, btn, other) {
      if (btn.getAttribute("aria-pressed") === "true") return;
      btn.setAttribute("aria-pressed", "true");
      other.setAttribute("aria-pressed", "false");
      note.textContent = "Sending…";
      vote(rating).then(function () {
        note.textContent = "Thanks for your feedback";
      }, function () {
        btn.setAttribute("aria-pressed", "false");
        note.textContent = "Couldn't send your feedback — please try again.";
      });
    }
    up.addEventListener("click", function () { pick("up", up, down); });
    down.addEventListener("click", function () { pick("down", down, up); });
    group.append(up, down, note);
    return group;
  }

  /**
   * Follow-up questions under an answer: real buttons whose accessible name is their visible text
   * (no aria-label), in a group named by a visible label.
   */
  function suggestionGroup(id, questions, onAsk) {
    var label = el("p", { class: "suggest-label", id: id, text: "You could also ask" });
    var row = el("div", { class: "suggest-row" });
    questions.forEach(function (q) {
      var b = el("button", { type: "button", class: "chip", text: q });
      b.addEventListener("click", function () { onAsk(q); });
      row.appendChild(b);
    });
    return el("div", { class: "suggest", role: "group", "aria-labelledby": id }, [label, row]);
  }

  /**
   * One assistant reply. The bubble carries lang= of the answer's language; the widget's own
   * (English) labels and the article content inside it keep lang="en".
   */
  function AnswerBubble(opts) {
    var status = "answered";
    var answerId = null, language = null;
    var citations = [], suggestions = [], cards = {};
    var full = "";
    var node = el("div", { class: "msg bot", "aria-busy": "true" });
    var badge = el("p", { class: "badge", hidden: true, lang: UI_LANG });
    var typing = el("span", { class: "typing", "aria-label": "Thinking", lang: UI_LANG }, [el("span"), el("span"), el("span")]);
    var text = el("p", { class: "text", hidden: true });
    var extras = el("div", { lang: UI_LANG });
    var disc = el("p", { class: "disclaimer", hidden: true });
    var tail = el("div", { lang: UI_LANG });
    node.append(el("span", { class: "sr", text: "Assistant: ", lang: UI_LANG }), badge, typing, text, extras, disc, tail);

    function focusCard(n) {
      var card = cards[n];
      if (card) { card.scrollIntoView({ block: "nearest" }); card.focus(); }
    }
    function renderText() {
      renderAnswerText(text, full, citations, function (n, c) { return citationMarker(n, c, focusCard); });
    }
    function setStatus(s) {
      if (["answered", "not_covered", "medical_referral", "emergency"].indexOf(s) === -1) s = "answered";
      status = s;
      node.classList.remove("answered", "not_covered", "medical_referral", "emergency");
      node.classList.add(s);
      if (s === "emergency") node.setAttribute("role", "alert");
      else node.removeAttribute("role");
      statusBadge(badge, s);
    }

    return {
      node: node,
      meta: function (m) {
        answerId = typeof m.answer_id === "string" && m.answer_id ? m.answer_id : null;
        citations = Array.isArray(m.citations) ? m.citations.filter(function (c) { return c && typeof c.n === "number"; }) : [];
        suggestions = suggestionList(m.suggestions);
        language = langTag(m.language);
        if (language) node.setAttribute("lang", language);
        else node.removeAttribute("lang");
        setStatus(m.status);
        extras.textContent = "";
        if (status === "not_covered") { var rel = relatedList(m.related); if (rel) extras.appendChild(rel); }
        var sc = sourceCards(citations);
        cards = sc.cards;
        if (sc.list) extras.appendChild(sc.list);
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
      /** The reply is complete (or cut off): feedback and, for an answer, the follow-up questions. */
      finish: function (incomplete) {
        typing.hidden = true;
        node.setAttribute("aria-busy", "false");
        if (incomplete) {
          tail.appendChild(el("p", { class: "disclaimer", text: "This answer was cut off." }));
          return;
        }
        if (answerId) tail.appendChild(feedbackGroup(function (rating) { return opts.vote(answerId, rating); }));
        if (status === "answered" && suggestions.length) {
          tail.appendChild(suggestionGroup(opts.id + "-suggest", suggestions, opts.ask));
        }
      },
      /** Drop the follow-up questions (a newer answer has its own). */
      dropSuggestions: function () {
        Array.prototype.forEach.call(tail.querySelectorAll(".suggest"), function (n) { n.remove(); });
      },
      hasText: function () { return full.length > 0; },
      record: function () {
        return { role: "assistant", text: full, status: status, answerId: answerId, language: language, suggestions: suggestions };
      }
    };
  }

  /** The error box under a failed question: its text node, Retry button and the box. */
  function errorBox(text, ref) {
    var p = el("p", { text: text || "" });
    var retry = el("button", { type: "button", class: "retry", text: "Retry" });
    var children = [p, retry];
    if (ref) children.push(el("p", { class: "ref", text: "Reference: " + ref }));
    return { box: el("div", { class: "error", role: "alert" }, children), text: p, retry: retry };
  }

  // ================================================================ accessibility: open/close, focus, scrolling

  /**
   * The dialog's open state, keyboard handling and focus: focus moves into the input when the reader
   * opens the panel, back to the launcher when they close it, never on load; Escape closes.
   */
  function Panel(view, state) {
    function setOpen(open, moveFocus) {
      state.open = open;
      view.panel.hidden = !open;
      view.root.classList.toggle("open", open);
      view.launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        scrollDown();
        if (moveFocus) view.input.focus(); // not when opened on load: never steal focus from the host page
      } else if (moveFocus) {
        view.launcher.focus();
      }
    }

    function scrollDown() { view.log.scrollTop = view.log.scrollHeight; }

    /** Show as much of node as fits, never scrolling its top out of view (long answers read from the top). */
    function reveal(node) {
      var log = view.log;
      var top = node.offsetTop - 10;
      var bottom = node.offsetTop + node.offsetHeight + 10 - log.clientHeight;
      log.scrollTop = Math.max(0, Math.min(top, bottom));
    }

    /** Keep the keyboard in the composer when the control that had focus goes away (a chip, Retry). */
    function keepFocusInComposer() {
      var active = view.root.getRootNode().activeElement;
      if (active && active !== view.input && view.panel.contains(active)) view.input.focus();
    }

    view.launcher.addEventListener("click", function () { setOpen(!state.open, true); });
    view.closeBtn.addEventListener("click", function () { setOpen(false, true); });
    view.root.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Esc") && state.open) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false, true);
      }
    });

    return { setOpen: setOpen, scrollDown: scrollDown, reveal: reveal, keepFocusInComposer: keepFocusInComposer };
  }

  // ================================================================ controller

  /** Wires state, rendering, transport and the panel together inside one shadow root. */
  function Widget(shadow) {
    var state = createState();
    var uid = "ao" + Math.random().toString(36).slice(2, 8);
    var replies = 0;
    var latest = null; // the newest complete reply: only its follow-up questions stay on screen
    var view = renderSkeleton(uid);
    shadow.appendChild(view.root);
    pickOnAccent(view.root);
    var panel = Panel(view, state);
    var input = view.input;

    view.starters.forEach(function (s) { s.button.addEventListener("click", function () { askFromChip(s.question); }); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener("input", autosize);
    view.form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    if (CONFIG.open) panel.setOpen(true, false);

    function autosize() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight + 3, 120) + "px";
    }

    function submit() {
      var q = input.value.trim();
      if (!q || state.busy) return;
      ask(q);
    }

    function askFromChip(question) {
      if (state.busy) return;
      panel.keepFocusInComposer(); // the chip may go away; the reader's next key belongs in the input
      ask(question);
    }

    function vote(answerId, rating) {
      return sendFeedback(answerId, rating).then(function () {
        state.transcript.forEach(function (t) { if (t.answerId === answerId) t.rating = rating; });
      });
    }

    function ask(question) {
      if (state.busy) return;
      if (!state.open) panel.setOpen(true, false);
      clearErrors();
      state.busy = true;
      view.sendBtn.disabled = true;
      view.chips.hidden = true;
      input.value = "";
      autosize();

      var userMsg = userMessage(question);
      view.log.appendChild(userMsg);
      state.transcript.push({ role: "user", text: question });
      var bubble = AnswerBubble({ id: uid + "-r" + (++replies), ask: askFromChip, vote: vote });
      view.log.appendChild(bubble.node);
      panel.scrollDown();

      var controller = typeof AbortController === "function" ? new AbortController() : null;
      var timedOut = false;
      var timer = setTimeout(function () { timedOut = true; if (controller) controller.abort(); }, TIMEOUT_MS);
      var body = { question: question };
      if (state.conversationId) body.conversation_id = state.conversationId;

      streamAnswer(body, {
        meta: function (m) {
          rememberConversation(state, m.conversation_id);
          bubble.meta(m);
          var lang = langTag(m.language);
          if (lang) userMsg.setAttribute("lang", lang); // the answer's language is the question's
          panel.reveal(bubble.node);
        },
        delta: function (t) { bubble.append(t); panel.reveal(bubble.node); },
        disclaimer: function (d) { bubble.disclaimer(d); panel.reveal(bubble.node); },
        done: function (d) { if (d.status) bubble.setStatus(d.status); panel.reveal(bubble.node); }
      }, controller ? controller.signal : undefined).then(function () {
        clearTimeout(timer);
        if (latest) latest.dropSuggestions();
        latest = bubble;
        bubble.finish();
        state.transcript.push(bubble.record());
        done();
        panel.reveal(bubble.node);
      }).catch(function (err) {
        clearTimeout(timer);
        if (!bubble.hasText()) bubble.node.remove();
        else bubble.finish(true);
        showError(question, userMsg, describeError(err, timedOut));
        done();
      });
    }

    function done() {
      state.busy = false;
      view.sendBtn.disabled = false;
      panel.scrollDown();
    }

    function clearErrors() {
      if (state.countdown) { clearInterval(state.countdown); state.countdown = null; }
      // a failed question went back into the input: drop it and its error from the log
      Array.prototype.forEach.call(view.log.querySelectorAll(".error, .msg.user.failed"), function (n) { n.remove(); });
    }

    function showError(question, userMsg, problem) {
      userMsg.classList.add("failed");
      var box = errorBox(problem.text, problem.ref);
      view.log.appendChild(box.box);

      // keep the reader's question so they can retry (or edit it)
      if (!input.value.trim()) { input.value = question; autosize(); }
      if (state.transcript.length && state.transcript[state.transcript.length - 1].role === "user") state.transcript.pop();

      if (problem.wait > 0) countDown(problem.wait, box);
      box.retry.addEventListener("click", function () {
        panel.keepFocusInComposer(); // Retry goes away with its error box
        ask(input.value.trim() || question);
      });
      panel.scrollDown();
    }

    /** 429: say how long to wait, keep Retry disabled until then. */
    function countDown(seconds, box) {
      var left = seconds;
      function tick() {
        box.text.textContent = left > 0 ? waitText(left) : MSG.waitDone;
        box.retry.disabled = left > 0;
      }
      tick();
      state.countdown = setInterval(function () {
        left -= 1;
        tick();
        if (left <= 0) { clearInterval(state.countdown); state.countdown = null; }
      }, 1000);
    }
  }

  // ================================================================ the element

  var mounted = new WeakSet();

  class AskOleusWidget extends HTMLElement {
    connectedCallback() {
      if (mounted.has(this)) return;
      mounted.add(this);
      var shadow = this.attachShadow({ mode: "open" });
      applyStyles(shadow);
      Widget(shadow);
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
