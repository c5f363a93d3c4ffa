/* askoleus support console. Every string from the API goes into the page as text, never as HTML. */
(function () {
  "use strict";

  var KEY = "askoleus.staffKey";
  var STATUS_LABELS = {
    answered: "Answered", not_covered: "Not covered", medical_referral: "Medical referral", emergency: "Emergency"
  };
  var $ = function (id) { return document.getElementById(id); };

  // ------------------------------------------------------------ helpers

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

  function link(url, text) {
    var href = safeUrl(url);
    if (!href) return el("span", { text: text });
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: text });
  }

  function when(ts) {
    if (!ts) return "";
    var d = new Date(ts);
    if (isNaN(d.getTime())) return str(ts);
    return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function num(v, digits) {
    return typeof v === "number" && isFinite(v) ? v.toFixed(digits == null ? 3 : digits) : "—";
  }

  function statusPill(status) {
    var s = str(status);
    return el("span", { class: "pill s-" + s.replace(/[^a-z_]/g, ""), text: STATUS_LABELS[s] || s || "—" });
  }

  function feedbackPill(f) {
    if (f === "up") return el("span", { class: "pill fb-up", text: "👍 Helpful" });
    if (f === "down") return el("span", { class: "pill fb-down", text: "👎 Not helpful" });
    return el("span", { class: "muted", text: "—" });
  }

  /** A table: columns = [{label, cell(row) -> Node|string, cls}] */
  function table(caption, columns, rows) {
    var thead = el("thead", null, [el("tr", null, columns.map(function (c) {
      return el("th", { scope: "col", class: c.cls, text: c.label });
    }))]);
    var tbody = el("tbody", null, rows.map(function (r, i) {
      return el("tr", null, columns.map(function (c) {
        var v = c.cell(r, i);
        return el("td", { class: c.cls, "data-label": c.label }, [v == null ? "" : v]);
      }));
    }));
    var t = el("table", { class: "data" }, [el("caption", { class: "sr", text: caption }), thead, tbody]);
    return el("div", { class: "table-wrap" }, [t]);
  }

  function empty(text) { return el("p", { class: "empty", text: text }); }

  function setNotice(text, kind) {
    var n = $("notice");
    n.textContent = text || "";
    n.className = "notice" + (kind ? " " + kind : "");
  }

  function loading(target) {
    target.textContent = "";
    target.appendChild(el("p", { class: "loading", text: "Loading…" }));
    target.setAttribute("aria-busy", "true");
  }

  function render(target, nodes) {
    target.textContent = "";
    target.removeAttribute("aria-busy");
    (Array.isArray(nodes) ? nodes : [nodes]).forEach(function (n) { if (n) target.appendChild(n); });
  }

  function citationList(citations) {
    if (!Array.isArray(citations) || !citations.length) return empty("No passages cited.");
    return el("ol", { class: "citations" }, citations.map(function (c) {
      var refs = Array.isArray(c.references) ? c.references : [];
      return el("li", { class: "citation" }, [
        el("div", { class: "cite-head" }, [
          el("span", { class: "n", text: "[" + str(c.n) + "]" }),
          link(c.url, str(c.title) || "Article"),
          c.section ? el("span", { class: "muted", text: " — " + str(c.section) }) : null,
          typeof c.score === "number" ? el("span", { class: "score", text: "score " + num(c.score) }) : null
        ]),
        c.snippet ? el("blockquote", { text: str(c.snippet) }) : null,
        refs.length ? el("ul", { class: "refs" }, refs.map(function (r) {
          var line = str(r.authors) || str(r.text);
          if (r.year) line += " (" + str(r.year) + ")";
          if (r.title) line += ". " + str(r.title);
          if (r.journal) line += ". " + str(r.journal);
          return el("li", { text: "Study: " + line });
        })) : null,
        c.chunk_id ? el("div", { class: "muted small mono", text: "chunk " + str(c.chunk_id) + (c.source ? " · " + str(c.source) : "") }) : null
      ]);
    }));
  }

  /** The follow-up questions an answer offers the reader (the widget shows them as chips). */
  function suggestionList(suggestions) {
    var items = (Array.isArray(suggestions) ? suggestions : []).filter(function (q) { return typeof q === "string" && q; });
    if (!items.length) return null;
    return el("div", { class: "suggestions" }, [
      el("h3", { text: "Suggested next questions (" + items.length + ")" }),
      el("ul", null, items.map(function (q) { return el("li", { text: q }); }))
    ]);
  }

  function langAttr(v) {
    return typeof v === "string" && /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/i.test(v) ? v : null;
  }

  function passageTable(caption, hits) {
    return table(caption, [
      { label: "#", cls: "num", cell: function (h, i) { return String(i + 1); } },
      { label: "Score", cls: "num", cell: function (h) { return num(h.score); } },
      { label: "Dense", cls: "num", cell: function (h) { return num(h.dense); } },
      { label: "Lexical", cls: "num", cell: function (h) { return num(h.lexical); } },
      { label: "Kind", cell: function (h) { return el("span", { class: "pill k-" + str(h.kind).replace(/[^a-z]/g, ""), text: str(h.kind) }); } },
      { label: "Article", cls: "article", cell: function (h) { return link(h.url, str(h.title)); } },
      { label: "Section", cls: "section", cell: function (h) { return str(h.section); } },
      { label: "Text", cls: "text", cell: function (h) { return str(h.text); } }
    ], Array.isArray(hits) ? hits : []);
  }

  // ------------------------------------------------------------ API

  function key() { return storageGet(KEY) || ""; }

  function AuthError() { this.name = "AuthError"; }

  function api(path, opts) {
    opts = opts || {};
    var headers = { "Authorization": "Bearer " + key() };
    if (opts.json !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: opts.method || "GET",
      headers: headers,
      body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (res) {
      if (res.status === 401 || res.status === 403) {
        logout("Wrong key — please sign in again.");
        throw new AuthError();
      }
      if (!res.ok) {
        return res.text().then(function (t) {
          var j = null;
          try { j = JSON.parse(t); } catch (e) { /* not JSON */ }
          var info = apiError(j);
          var err = new Error(info.message || ("HTTP " + res.status));
          err.status = res.status;
          err.requestId = info.requestId || res.headers.get("X-Request-ID") || "";
          throw err;
        });
      }
      return opts.raw ? res : res.json();
    });
  }

  function fail(target) {
    return function (err) {
      if (err instanceof AuthError) return;
      var text = err && err.status === 429 ? "Too many requests — wait a moment and try again."
        : err && err.status ? "The server answered " + err.status + ": " + err.message + (err.requestId ? " (request " + err.requestId + ")" : "")
        : "Could not reach the server. Check your connection.";
      if (target) render(target, el("p", { class: "error", role: "alert", text: text }));
      else setNotice(text, "bad");
    };
  }

  // ------------------------------------------------------------ session

  function showApp(on) {
    $("login").hidden = on;
    $("app").hidden = !on;
    $("session-actions").hidden = !on;
  }

  function logout(message) {
    storageRemove(KEY);
    showApp(false);
    ["ask-result", "search-result", "recent-result", "gaps-result", "thumbs-result", "top-result"].forEach(function (id) {
      $(id).textContent = "";
    });
    loaded = {};
    var err = $("login-error");
    err.textContent = message || "";
    err.hidden = !message;
    var input = $("staff-key");
    input.value = "";
    input.focus();
  }

  function login(e) {
    e.preventDefault();
    var value = $("staff-key").value.trim();
    var err = $("login-error");
    if (!value) {
      err.textContent = "Enter the staff key.";
      err.hidden = false;
      return;
    }
    storageSet(KEY, value);
    err.hidden = true;
    api("/v1/console/check").then(function () {
      start();
    }).catch(function (x) {
      if (x instanceof AuthError) {
        $("login-error").textContent = "Wrong key";
        $("login-error").hidden = false;
        return;
      }
      err.textContent = "Could not sign in: " + (x && x.message ? x.message : "the server is not reachable");
      err.hidden = false;
    });
  }

  function start() {
    showApp(true);
    $("staff-key").value = "";
    selectTab("tab-ask", true);
  }

  // ------------------------------------------------------------ tabs

  var loaded = {};
  var LOADERS = {
    "tab-recent": loadRecent, "tab-gaps": loadGaps, "tab-thumbs": loadThumbs, "tab-top": loadTop
  };

  function tabs() { return Array.prototype.slice.call(document.querySelectorAll('[role="tab"]')); }

  function selectTab(id, focusPanel) {
    tabs().forEach(function (t) {
      var on = t.id === id;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    setNotice("");
    if (LOADERS[id] && !loaded[id]) { loaded[id] = true; LOADERS[id](); }
    if (focusPanel) {
      var first = $(document.getElementById(id).getAttribute("aria-controls")).querySelector("input, textarea, select");
      if (first && id === "tab-ask") first.focus();
    }
  }

  function onTabKey(e) {
    var list = tabs();
    var i = list.indexOf(e.target);
    if (i === -1) return;
    var next = null;
    if (e.key === "ArrowRight") next = list[(i + 1) % list.length];
    else if (e.key === "ArrowLeft") next = list[(i - 1 + list.length) % list.length];
    else if (e.key === "Home") next = list[0];
    else if (e.key === "End") next = list[list.length - 1];
    if (next) {
      e.preventDefault();
      selectTab(next.id);
      next.focus();
    }
  }

  // ------------------------------------------------------------ sections

  function ask(e) {
    e.preventDefault();
    var q = $("ask-q").value.trim();
    var out = $("ask-result");
    if (!q) { $("ask-q").focus(); return; }
    loading(out);
    api("/v1/ask", { method: "POST", json: { question: q, debug: true } }).then(function (r) {
      var hits = r.debug && Array.isArray(r.debug.hits) ? r.debug.hits : [];
      render(out, [
        el("div", { class: "answer card" }, [
          el("div", { class: "answer-meta" }, [
            statusPill(r.status),
            el("span", { class: "muted small", text: "took " + num(r.took_ms, 0) + " ms · generation " + str(r.index_generation) }),
            r.language ? el("span", { class: "muted small", text: "language " + str(r.language) }) : null,
            r.answer_id ? el("span", { class: "muted small mono", text: "answer " + str(r.answer_id) }) : null
          ]),
          el("p", { class: "answer-text", text: str(r.answer), lang: langAttr(r.language) }),
          suggestionList(r.suggestions),
          Array.isArray(r.related) && r.related.length ? el("div", null, [
            el("h3", { text: "Related articles" }),
            el("ul", null, r.related.map(function (x) { return el("li", null, [link(x.url, str(x.title))]); }))
          ]) : null
        ]),
        el("h2", { text: "Citations (" + (r.citations || []).length + ")" }),
        citationList(r.citations),
        el("h2", { text: "Retrieved passages (" + hits.length + ")" }),
        hits.length ? passageTable("Retrieved passages", hits) : empty("No passages were retrieved.")
      ]);
    }).catch(fail(out));
  }

  function search(e) {
    e.preventDefault();
    var q = $("search-q").value.trim();
    var out = $("search-result");
    if (!q) { $("search-q").focus(); return; }
    loading(out);
    api("/v1/search?q=" + encodeURIComponent(q) + "&k=10").then(function (r) {
      var hits = Array.isArray(r.hits) ? r.hits : [];
      render(out, hits.length ? [
        el("p", { class: "muted small", text: hits.length + " passages · generation " + str(r.index_generation) }),
        passageTable("Search results", hits)
      ] : empty("No passages found."));
    }).catch(fail(out));
  }

  function loadRecent() {
    var out = $("recent-result");
    var qs = "limit=100";
    var s = $("f-status").value, f = $("f-feedback").value;
    if (s) qs += "&status=" + encodeURIComponent(s);
    if (f) qs += "&feedback=" + encodeURIComponent(f);
    loading(out);
    api("/v1/console/questions?" + qs).then(function (r) {
      var items = Array.isArray(r.items) ? r.items : [];
      if (!items.length) return render(out, empty("No questions match."));
      render(out, [
        el("p", { class: "muted small", text: items.length + " questions, newest first" }),
        table("Recent questions", [
          { label: "Time", cls: "nowrap", cell: function (x) { return el("time", { datetime: str(x.ts), text: when(x.ts) }); } },
          { label: "Question", cls: "text", cell: function (x) {
            var d = el("details", null, [el("summary", { text: str(x.question) })]);
            if (x.answer) d.appendChild(el("p", { class: "answer-text small", text: str(x.answer) }));
            d.appendChild(citationList(x.citations));
            return d;
          } },
          { label: "Status", cell: function (x) { return statusPill(x.status); } },
          { label: "Top score", cls: "num", cell: function (x) { return num(x.top_score); } },
          { label: "Feedback", cell: function (x) { return feedbackPill(x.feedback); } },
          { label: "Sources", cls: "nowrap", cell: function (x) {
            var c = Array.isArray(x.citations) ? x.citations : [];
            var titles = c.map(function (y) { return str(y.section || y.title); }).filter(Boolean);
            return c.length ? el("span", { title: titles.join("\n"), text: c.length + (c.length === 1 ? " passage" : " passages") }) : el("span", { class: "muted", text: "—" });
          } }
        ], items)
      ]);
    }).catch(fail(out));
  }

  function loadGaps() {
    var out = $("gaps-result");
    loading(out);
    api("/v1/console/gaps").then(function (r) {
      var items = Array.isArray(r.items) ? r.items : [];
      if (!items.length) return render(out, empty("No uncovered questions yet."));
      render(out, table("Content gaps", [
        { label: "Question", cls: "text", cell: function (x) { return str(x.question); } },
        { label: "Times asked", cls: "num", cell: function (x) { return str(x.count); } },
        { label: "Last asked", cls: "nowrap", cell: function (x) { return el("time", { datetime: str(x.last_ts), text: when(x.last_ts) }); } }
      ], items));
    }).catch(fail(out));
  }

  function loadThumbs() {
    var out = $("thumbs-result");
    loading(out);
    api("/v1/console/thumbs-down").then(function (r) {
      var items = Array.isArray(r.items) ? r.items : [];
      if (!items.length) return render(out, empty("No answers marked “Not helpful” yet."));
      render(out, el("ul", { class: "thumbs" }, items.map(function (x) {
        return el("li", { class: "card thumb" }, [
          el("div", { class: "thumb-head" }, [
            el("h3", { class: "question", text: str(x.question) }),
            statusPill(x.status),
            el("time", { class: "muted small", datetime: str(x.ts), text: when(x.ts) })
          ]),
          x.answer ? el("p", { class: "answer-text", text: str(x.answer) }) : null,
          el("h4", { text: "Passages behind this answer" }),
          citationList(x.citations)
        ]);
      })));
    }).catch(fail(out));
  }

  function loadTop() {
    var out = $("top-result");
    loading(out);
    api("/v1/console/top").then(function (r) {
      var items = Array.isArray(r.items) ? r.items : [];
      if (!items.length) return render(out, empty("No questions in the last 30 days."));
      render(out, table("Most asked questions", [
        { label: "Question", cls: "text", cell: function (x) { return str(x.question); } },
        { label: "Count", cls: "num", cell: function (x) { return str(x.count); } },
        { label: "Asked as", cls: "text", cell: function (x) {
          var ex = Array.isArray(x.examples) ? x.examples : [];
          return ex.length ? el("ul", { class: "examples" }, ex.map(function (q) { return el("li", { text: str(q) }); })) : "";
        } }
      ], items));
    }).catch(fail(out));
  }

  function exportCsv() {
    var btn = $("export");
    btn.disabled = true;
    setNotice("Preparing the CSV…");
    api("/v1/console/export.csv", { raw: true }).then(function (res) {
      return res.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = el("a", { href: url, download: "askoleus-questions-" + new Date().toISOString().slice(0, 10) + ".csv", hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      setNotice("CSV downloaded.", "ok");
    }).catch(function (err) {
      if (!(err instanceof AuthError)) fail(null)(err);
    }).then(function () { btn.disabled = false; });
  }

  // ------------------------------------------------------------ wiring

  function init() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", function () { logout(""); });
    $("export").addEventListener("click", exportCsv);
    $("ask-form").addEventListener("submit", ask);
    $("ask-q").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("ask-form").requestSubmit(); }
    });
    $("search-form").addEventListener("submit", search);
    $("f-status").addEventListener("change", loadRecent);
    $("f-feedback").addEventListener("change", loadRecent);
    document.querySelector('[role="tablist"]').addEventListener("keydown", onTabKey);
    tabs().forEach(function (t) { t.addEventListener("click", function () { selectTab(t.id); }); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-refresh]"), function (b) {
      b.addEventListener("click", function () {
        ({ recent: loadRecent, gaps: loadGaps, thumbs: loadThumbs, top: loadTop })[b.getAttribute("data-refresh")]();
      });
    });
    if (key()) {
      api("/v1/console/check").then(start).catch(function (e) {
        if (e instanceof AuthError) return;
        showApp(false);
        $("login-error").textContent = "Could not reach the server" + (e && e.status ? " (HTTP " + e.status + ")" : "") + ". Try again.";
        $("login-error").hidden = false;
      });
    } else {
      showApp(false);
      $("staff-key").focus();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
