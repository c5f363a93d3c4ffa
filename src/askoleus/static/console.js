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
    // a scrolling region must be reachable by keyboard (axe: scrollable-region-focusable)
    return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption }, [t]);
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
    ["overview-result", "generated-result", "ask-result", "search-result", "recent-result", "gaps-result", "thumbs-result", "top-result"].forEach(function (id) {
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
    selectTab("tab-overview", true);
  }

  // ------------------------------------------------------------ tabs

  var loaded = {};
  var LOADERS = {
    "tab-overview": loadOverview, "tab-recent": loadRecent, "tab-gaps": loadGaps, "tab-thumbs": loadThumbs, "tab-top": loadTop
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


  // ------------------------------------------------------------ overview

  var SERIES = {
    volume: [["answered", "Answered"], ["not_covered", "Not covered"], ["medical_referral", "Medical referral"], ["emergency", "Emergency"]],
    rates: [["not_covered_rate", "Not-covered rate"], ["thumbs_down_rate", "Thumbs-down rate", true]],
    latency: [["p50_ms", "Median"], ["p95_ms", "95th percentile", true]]
  };
  var TRENDS = { rising: "↑ rising", falling: "↓ falling", steady: "→ steady", "new": "★ new" };

  function pct(v) { return typeof v === "number" && isFinite(v) ? (v * 100).toFixed(1) + "%" : "—"; }
  function count(v) { return typeof v === "number" && isFinite(v) ? v.toLocaleString("en") : "—"; }
  function ms(v) { return typeof v === "number" && isFinite(v) ? v.toFixed(1) + " ms" : "—"; }

  /** The range the overview shows, as a query string ("" when the custom dates are incomplete). */
  function rangeQuery() {
    var picked = document.querySelector('input[name="range"]:checked');
    var v = picked ? picked.value : "30";
    if (v !== "custom") return "days=" + encodeURIComponent(v);
    var from = $("range-from").value, to = $("range-to").value;
    if (!from || !to) return "";
    return "from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to);
  }

  /** A server-rendered SVG chart as a node; scripts, foreign content, handlers and links are dropped. */
  function svgNode(markup) {
    if (typeof markup !== "string" || !markup) return null;
    var doc = new DOMParser().parseFromString(markup, "image/svg+xml");
    var root = doc.documentElement;
    if (!root || root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
    Array.prototype.slice.call(root.querySelectorAll("script, foreignObject, a, use, image")).forEach(function (n) { n.remove(); });
    Array.prototype.slice.call(root.querySelectorAll("*")).concat([root]).forEach(function (n) {
      Array.prototype.slice.call(n.attributes).forEach(function (a) {
        if (/^on/i.test(a.name) || /href$/i.test(a.name) || a.name === "style") n.removeAttribute(a.name);
      });
    });
    return document.importNode(root, true);
  }

  function legend(series) {
    return el("ul", { class: "legend" }, series.map(function (s) {
      return el("li", null, [el("span", { class: "swatch sw-" + s[0] + (s[2] ? " dashed" : ""), "aria-hidden": "true" }), s[1]]);
    }));
  }

  /** A chart with its legend and, behind a disclosure, the table of the numbers it draws. */
  function chartFigure(id, title, svg, series, rows, fmt) {
    var cols = [{ label: "Day", cls: "nowrap", cell: function (r) { return str(r.date); } }].concat(series.map(function (s) {
      return { label: s[1], cls: "num", cell: function (r) { return fmt(r[s[0]]); } };
    }));
    return el("figure", { class: "chart card", id: id, "aria-labelledby": id + "-h" }, [
      el("h3", { id: id + "-h", text: title }),
      legend(series),
      el("div", { class: "chart-box" }, [svgNode(svg) || el("p", { class: "empty", text: "No chart." })]),
      el("details", { class: "chart-data" }, [
        el("summary", { text: "Data table: " + title.toLowerCase() }),
        table(title + " (data)", cols, rows)
      ])
    ]);
  }

  function stat(label, value, note) {
    return el("div", { class: "stat card" }, [
      el("dt", { class: "stat-label", text: label }),
      el("dd", { class: "stat-value", text: value }),
      note ? el("dd", { class: "muted small", text: note }) : null
    ]);
  }

  function gapTopicTable(topics) {
    if (!topics.length) return empty("No uncovered questions in this range.");
    return table("Gap topics", [
      { label: "Topic", cls: "text", cell: function (t) {
        var qs = Array.isArray(t.questions) ? t.questions : [];
        return el("details", { class: "topic" }, [
          el("summary", { text: str(t.topic) }),
          el("p", { class: "muted small", text: count(t.distinct) + " different questions; asked " + count(t.first_half) + " times in the first half of the range, " + count(t.second_half) + " in the second." }),
          el("ul", { class: "examples" }, qs.map(function (q) {
            return el("li", null, [str(q.question) + " ", el("span", { class: "muted small", text: "× " + count(q.count) })]);
          }))
        ]);
      } },
      { label: "Asked", cls: "num", cell: function (t) { return count(t.count); } },
      { label: "Trend", cls: "nowrap", cell: function (t) { return el("span", { class: "trend t-" + str(t.trend).replace(/[^a-z]/g, ""), text: TRENDS[t.trend] || str(t.trend) }); } },
      { label: "Examples", cls: "text", cell: function (t) {
        var ex = Array.isArray(t.examples) ? t.examples : [];
        return el("ul", { class: "examples" }, ex.map(function (q) { return el("li", { text: str(q) }); }));
      } },
      { label: "Closest article", cls: "article", cell: function (t) {
        var c = t.closest;
        if (!c) return el("span", { class: "muted", text: "none near" });
        return el("span", null, [link(c.url, str(c.title)), el("span", { class: "muted small", text: " — " + str(c.section) + " (cosine " + num(c.score, 2) + ")" })]);
      } }
    ], topics);
  }

  function renderOverview(out, r) {
    var t = r.totals || {};
    var days = Array.isArray(r.daily) ? r.daily : [];
    var lat = Array.isArray(r.latency) ? r.latency : [];
    var charts = r.charts || {};
    var gens = Array.isArray(r.index_generations) ? r.index_generations : [];
    var never = Array.isArray(r.never_cited) ? r.never_cited : [];
    var range = r.range || {};
    var latAll = lat.map(function (x) { return x.p50_ms; }).filter(function (v) { return typeof v === "number"; }).sort(function (a, b) { return a - b; });
    render(out, [
      el("p", { class: "muted small", id: "overview-range", text: str(range.from) + " to " + str(range.to) + " (" + str(range.days) + " days, UTC; questions are kept " + str(r.retention_days) + " days)" }),
      el("dl", { class: "stats" }, [
        stat("Questions", count(t.total), count(t.answered) + " answered"),
        stat("Not covered", pct(t.not_covered_rate), count(t.not_covered) + " questions"),
        stat("Thumbs down", pct(t.thumbs_down_rate), count(t.feedback_down) + " of " + count((t.feedback_up || 0) + (t.feedback_down || 0)) + " rated"),
        stat("Median latency", latAll.length ? ms(latAll[Math.floor(latAll.length / 2)]) : "—", "median of the daily medians")
      ]),
      el("h2", { text: "Trends" }),
      el("div", { class: "charts" }, [
        chartFigure("fig-volume", "Questions per day by status", charts.volume, SERIES.volume, days, count),
        chartFigure("fig-rates", "Not-covered and thumbs-down rates", charts.rates, SERIES.rates, days, pct),
        chartFigure("fig-latency", "Answer latency per day", charts.latency, SERIES.latency, lat, ms)
      ]),
      el("h2", { id: "gap-topics-h", text: "Gap topics (" + (r.gap_topics || []).length + ")" }),
      el("p", { class: "muted small", text: "Questions the articles did not cover, grouped by meaning — the editors' to-write list. Open a topic for all its questions." }),
      gapTopicTable(Array.isArray(r.gap_topics) ? r.gap_topics : []),
      el("h2", { text: "Most cited in answers" }),
      el("div", { class: "two-col" }, [
        el("div", null, [
          el("h3", { text: "Articles" }),
          (r.cited_articles || []).length ? table("Most cited articles", [
            { label: "Article", cls: "article", cell: function (a) { return link(a.url, str(a.title) || str(a.article_id)); } },
            { label: "Citations", cls: "num", cell: function (a) { return count(a.citations); } },
            { label: "Sections", cls: "num", cell: function (a) { return count(a.sections); } }
          ], r.cited_articles) : empty("No citations in this range.")
        ]),
        el("div", null, [
          el("h3", { text: "Sections" }),
          (r.cited_sections || []).length ? table("Most cited sections", [
            { label: "Section", cls: "section", cell: function (s) { return link(s.url, str(s.section) || "(top)"); } },
            { label: "Article", cls: "article", cell: function (s) { return str(s.title); } },
            { label: "Citations", cls: "num", cell: function (s) { return count(s.citations); } }
          ], r.cited_sections) : empty("No citations in this range.")
        ])
      ]),
      el("h3", { text: "Never cited in this range (" + never.length + ")" }),
      never.length ? el("ul", { class: "never" }, never.map(function (a) { return el("li", null, [link(a.url, str(a.title))]); }))
        : empty("Every indexed article was cited."),
      el("h2", { text: "Index generations" }),
      gens.length ? table("Index generations", [
        { label: "Generation", cls: "mono", cell: function (g) { return el("span", null, [str(g.id), g.current ? el("span", { class: "pill s-answered", text: " current" }) : null]); } },
        { label: "Went live", cls: "nowrap", cell: function (g) { return g.activated ? el("time", { datetime: str(g.activated), text: when(g.activated) }) : el("span", { class: "muted", text: "never" }); } },
        { label: "Built", cls: "nowrap", cell: function (g) { return g.created ? el("time", { datetime: str(g.created), text: when(g.created) }) : "—"; } },
        { label: "Chunks", cls: "num", cell: function (g) { return count(g.chunks); } },
        { label: "Articles", cls: "num", cell: function (g) { return count(g.articles); } }
      ], gens) : empty("No index generations.")
    ]);
  }

  function loadOverview() {
    var out = $("overview-result");
    var qs = rangeQuery();
    if (!qs) { setNotice("Choose both dates of the custom range.", "bad"); return; }
    loading(out);
    api("/v1/console/overview?" + qs + "&charts=true").then(function (r) { renderOverview(out, r); }).catch(fail(out));
    var gen = $("generated-result");
    loading(gen);
    api("/v1/console/generated?" + qs).then(function (r) { renderGenerated(gen, r); }).catch(fail(gen));
  }

  /** Generated answers over the range: how many drafted sentences verification dropped, and each for review. */
  function renderGenerated(out, r) {
    var sentences = Array.isArray(r.sentences) ? r.sentences : [];
    var reasons = r.reasons && typeof r.reasons === "object" ? r.reasons : {};
    if (!r.answers) {
      render(out, [el("h2", { text: "Generated answers" }), empty("No answer in this range was drafted by a language model (extractive answers only).")]);
      return;
    }
    render(out, [
      el("h2", { text: "Generated answers" }),
      el("dl", { class: "stats" }, [
        stat("Drafted by the model", count(r.answers), count(r.generated) + " shown as generated, the rest fell back to quotes"),
        stat("Drop rate", pct(r.drop_rate), count(r.dropped) + " of " + count(r.drafted) + " drafted sentences dropped")
      ]),
      el("p", { class: "muted small", text: "Why: " + (Object.keys(reasons).map(function (k) { return k.replace(/_/g, " ") + " " + count(reasons[k]); }).join(", ") || "none") }),
      sentences.length ? table("Dropped sentences", [
        { label: "When", cls: "nowrap", cell: function (d) { return el("time", { datetime: str(d.ts), text: when(d.ts) }); } },
        { label: "Question", cls: "text", cell: function (d) { return str(d.question); } },
        { label: "Dropped sentence", cls: "text", cell: function (d) { return str(d.text); } },
        { label: "Reason", cls: "nowrap", cell: function (d) { return str(d.reason).replace(/_/g, " "); } },
        { label: "Answer", cls: "nowrap", cell: function (d) { return str(d.mode); } }
      ], sentences) : empty("Verification dropped no sentence in this range.")
    ]);
  }

  function onRangeChange() {
    var custom = $("range-custom").checked;
    $("custom-range").hidden = !custom;
    if (custom) {
      if (!$("range-to").value) $("range-to").value = new Date().toISOString().slice(0, 10);
      if (!$("range-from").value) $("range-from").value = new Date(Date.now() - 13 * 86400000).toISOString().slice(0, 10);
      $("range-from").focus();
      return;
    }
    loadOverview();
  }

  /** Download an API file (the staff key goes in the header, so not through a plain link). */
  function download(path, filename, btn) {
    btn.disabled = true;
    setNotice("Preparing the CSV…");
    api(path, { raw: true }).then(function (res) {
      return res.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = el("a", { href: url, download: filename, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      setNotice("CSV downloaded.", "ok");
    }).catch(function (err) {
      if (!(err instanceof AuthError)) fail(null)(err);
    }).then(function () { btn.disabled = false; });
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
        el("h2", { class: "sr", text: "Answer" }),
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
            el("h2", { class: "question", text: str(x.question) }),
            statusPill(x.status),
            el("time", { class: "muted small", datetime: str(x.ts), text: when(x.ts) })
          ]),
          x.answer ? el("p", { class: "answer-text", text: str(x.answer) }) : null,
          el("h3", { class: "sub", text: "Passages behind this answer" }),
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
    download("/v1/console/export.csv", "askoleus-questions-" + new Date().toISOString().slice(0, 10) + ".csv", $("export"));
  }

  function exportGapTopics() {
    var qs = rangeQuery() || "days=30";
    download("/v1/console/overview/gaps.csv?" + qs, "askoleus-gap-topics-" + new Date().toISOString().slice(0, 10) + ".csv", $("gaps-csv"));
  }

  // ------------------------------------------------------------ wiring

  function init() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", function () { logout(""); });
    $("export").addEventListener("click", exportCsv);
    $("gaps-csv").addEventListener("click", exportGapTopics);
    Array.prototype.forEach.call(document.querySelectorAll('input[name="range"]'), function (r) {
      r.addEventListener("change", onRangeChange);
    });
    $("range-form").addEventListener("submit", function (e) { e.preventDefault(); loadOverview(); });
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
