// kite dashboard: shared helpers (DOM, formatting, the intensity colour scale, polling, and a
// small SVG time chart). No dependencies; every page script builds on window.K.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const HOUR = 3600e3;

  /** Creates an element: el("td", {class: "num"}, "12", child). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  /** Creates an SVG element. */
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }

  function append(e, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  /** Replaces the children of the element with id `id`. */
  function fill(id, ...children) {
    const e = typeof id === "string" ? document.getElementById(id) : id;
    if (!e) return null;
    e.replaceChildren();
    append(e, children);
    return e;
  }

  // ---------------------------------------------------------------------------------------
  // The intensity scale, gCO2e/kWh: green → amber → red (the CSS .scale-bar draws the same).
  const STOPS = [
    [0, [42, 157, 99]],
    [200, [156, 185, 58]],
    [350, [227, 167, 47]],
    [550, [222, 107, 53]],
    [800, [193, 58, 58]],
  ];
  const SCALE_MAX = 800;

  function colour(g) {
    if (g === null || g === undefined || !isFinite(g)) return "#9aa3ad";
    const v = Math.max(0, Math.min(SCALE_MAX, g));
    for (let i = 1; i < STOPS.length; i++) {
      const [x1, c1] = STOPS[i];
      const [x0, c0] = STOPS[i - 1];
      if (v <= x1) {
        const f = (v - x0) / (x1 - x0);
        const c = c0.map((a, j) => Math.round(a + f * (c1[j] - a)));
        return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
      }
    }
    const c = STOPS[STOPS.length - 1][1];
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  }

  /** A legend for the scale: gradient bar and ticks. */
  function scaleLegend() {
    return el("div", { class: "scale", "aria-label": "Colour scale, gCO2e/kWh" },
      el("span", {}, "gCO₂e/kWh"),
      el("div", {},
        el("div", { class: "scale-bar", role: "img", "aria-label": "green at 0, amber at 350, red at 800 or more" }),
        el("div", { class: "scale-ticks" }, ["0", "200", "400", "600", "800+"].map((t) => el("span", {}, t)))));
  }

  // ---------------------------------------------------------------------------------------
  // Formatting

  /** Grams CO2e with a unit that keeps 3 significant figures: 812 g, 12.3 kg, 1.25 t. */
  function grams(g) {
    if (g === null || g === undefined || !isFinite(g)) return "–";
    const a = Math.abs(g);
    if (a < 1000) return `${round(g, a < 10 ? 1 : 0)} g`;
    if (a < 1e6) return `${sig(g / 1e3)} kg`;
    return `${sig(g / 1e6)} t`;
  }

  function sig(x) {
    const a = Math.abs(x);
    return round(x, a >= 100 ? 0 : a >= 10 ? 1 : 2);
  }

  function round(x, d) {
    return Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  function intensity(g) {
    return g === null || g === undefined || !isFinite(g) ? "–" : String(Math.round(g));
  }

  function pct(p, d = 1) {
    return p === null || p === undefined || !isFinite(p) ? "–" : `${round(p, d)} %`;
  }

  function kwh(x) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    if (Math.abs(x) >= 1000) return `${sig(x / 1000)} MWh`;
    return `${sig(x)} kWh`;
  }

  const WD = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const pad = (n) => String(n).padStart(2, "0");

  /** "Tue 14:00" in UTC (kite's times are UTC everywhere). */
  function when(t) {
    const d = new Date(t);
    if (isNaN(d)) return "–";
    return `${WD[d.getUTCDay()]} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }

  /** "2026-10-05 14:00Z". */
  function stamp(t) {
    const d = new Date(t);
    if (isNaN(d)) return "–";
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}Z`;
  }

  /** "5 s", "12 min", "3 h", "4 d". */
  function span(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 90) return `${s} s`;
    if (s < 90 * 60) return `${Math.round(s / 60)} min`;
    if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} d`;
  }

  function badge(prov) {
    return el("span", { class: `badge ${prov || ""}` }, prov || "no data");
  }

  // ---------------------------------------------------------------------------------------
  // Polling: fetch now, then every 15 s; "updated N s ago" ticks every second.

  let lastOk = null;
  let lastError = null;

  function tick() {
    const live = document.querySelector(".live");
    const text = document.getElementById("updated");
    if (!live || !text) return;
    live.classList.toggle("failed", !!lastError);
    if (lastOk === null) {
      text.textContent = lastError ? "update failed" : "loading…";
      return;
    }
    const age = Date.now() - lastOk;
    live.classList.toggle("stale", age > 60e3);
    text.textContent = `updated ${span(age)} ago` + (lastError ? " · last update failed" : "");
  }

  /**
   * Calls `render(data)` with the JSON of `url()` now and every `every` ms, without reloading.
   * Errors show in #error (if present) and leave the last rendering in place.
   */
  function live(url, render, every = 15000) {
    let busy = false;
    async function run() {
      if (busy) return;
      busy = true;
      try {
        const headers = { Accept: "application/json" };
        const token = sessionStorage.getItem(TOKEN_KEY);
        if (token) headers.Authorization = `Bearer ${token}`;
        const r = await fetch(url(), { headers, cache: "no-store" });
        const body = await r.json().catch(() => null);
        if (r.status === 401) {
          // This server keeps its reads private ([serve.api] private_reads): ask for the token.
          askToken(token ? "That token was refused." : null, run);
          throw new Error("this server needs its API token for reads");
        }
        if (!r.ok) {
          const detail = body && (body.detail || body.title);
          throw new Error(detail ? `${detail}${body.fix ? ` (${body.fix})` : ""}` : `HTTP ${r.status}`);
        }
        render(body);
        lastOk = Date.now();
        lastError = null;
        showError(null);
      } catch (e) {
        lastError = e;
        showError(`Could not update: ${e.message}. Showing the last data; retrying every ${every / 1000} s.`);
      } finally {
        busy = false;
        tick();
      }
    }
    run();
    setInterval(run, every);
    return run;
  }

  const TOKEN_KEY = "kite-token";

  /** A small form for the API token, kept in this tab's sessionStorage only. */
  function askToken(problem, retry) {
    if (document.getElementById("token-form")) return;
    const form = document.createElement("form");
    form.id = "token-form";
    form.className = "token-form card";
    const label = document.createElement("label");
    label.textContent =
      "This kite server needs its API token to show data (the .token file beside its job queue). " +
      (problem || "");
    const input = document.createElement("input");
    input.type = "password";
    input.name = "token";
    input.autocomplete = "off";
    input.setAttribute("aria-label", "API token");
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Use token";
    label.appendChild(input);
    form.append(label, button);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      form.remove();
      retry();
    });
    const main = document.querySelector("main") || document.body;
    main.prepend(form);
    input.focus();
  }

  function showError(msg) {
    const e = document.getElementById("error");
    if (!e) return;
    e.hidden = !msg;
    e.textContent = msg || "";
  }

  setInterval(tick, 1000);

  // ---------------------------------------------------------------------------------------
  // A time chart: hourly step lines, interval bands, rectangles, a "now" line, axes.

  function niceStep(range, target) {
    const raw = range / Math.max(1, target);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const n = raw / mag;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
  }

  /**
   * opts: {start, end (ms), height, width, ymax, title, desc, unit, now,
   *        top (px above the plot), bottom (px of lanes below the plot)}
   * Returns {svg, x(t), y(v), plot: <g>, over: <g>, left, right, top, bottom}.
   */
  function timeChart(opts) {
    const W = opts.width || 900;
    const H = opts.height || 300;
    const m = { l: opts.left || 48, r: 16, t: opts.top || 24, b: 28 + (opts.below || 0) };
    const plotH = H - m.t - m.b;
    const x = (t) => m.l + ((t - opts.start) / (opts.end - opts.start)) * (W - m.l - m.r);
    const tOf = (px) => opts.start + ((px - m.l) / (W - m.l - m.r)) * (opts.end - opts.start);
    const ymax = opts.ymax > 0 ? opts.ymax : 1;
    const y = (v) => m.t + plotH - (Math.max(0, v) / ymax) * plotH;
    const id = `t${Math.random().toString(36).slice(2, 8)}`;
    const root = svg("svg", {
      class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc`,
      preserveAspectRatio: "xMidYMid meet",
    }, svg("title", { id: `${id}-title` }, opts.title || "chart"), svg("desc", { id: `${id}-desc` }, opts.desc || ""));

    // y grid and labels
    const grid = svg("g", { class: "axis" });
    const step = niceStep(ymax, 4);
    for (let v = 0; v <= ymax + 1e-9; v += step) {
      grid.append(svg("line", { class: "grid-line", x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
      grid.append(svg("text", { x: m.l - 8, y: y(v) + 4, "text-anchor": "end" }, round(v, step < 1 ? 1 : 0)));
    }
    // x ticks: every 3/6/12/24 h depending on the span
    const hours = (opts.end - opts.start) / HOUR;
    const every = hours <= 24 ? 3 : hours <= 72 ? 6 : hours <= 120 ? 12 : 24;
    const first = Math.ceil(opts.start / (every * HOUR)) * every * HOUR;
    const axisY = m.t + plotH;
    for (let t = first; t <= opts.end; t += every * HOUR) {
      const d = new Date(t);
      const midnight = d.getUTCHours() === 0;
      grid.append(svg("line", { class: "grid-line", x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4 }));
      const label = midnight ? `${WD[d.getUTCDay()]} ${d.getUTCDate()}` : `${pad(d.getUTCHours())}:00`;
      grid.append(svg("text", { x: x(t), y: H - (opts.below || 0) - 10, "text-anchor": "middle", "font-weight": midnight ? 600 : 400 }, label));
    }
    grid.append(svg("line", { class: "grid-line", x1: m.l, x2: W - m.r, y1: axisY, y2: axisY }));
    root.append(grid);
    const plot = svg("g", {});
    const over = svg("g", {});
    root.append(plot, over);
    if (opts.now && opts.now >= opts.start && opts.now <= opts.end) {
      over.append(svg("line", { class: "now-line", x1: x(opts.now), x2: x(opts.now), y1: m.t - 6, y2: H - 22 }));
      over.append(svg("text", { class: "now-label", x: x(opts.now) + 4, y: m.t + 2 }, "now"));
    }
    return { svg: root, x, y, t: tOf, plot, over, left: m.l, right: W - m.r, top: m.t, axisY, width: W, height: H };
  }

  /** An SVG path of hourly steps: each point [t, v] covers [t, t + dur). */
  function stepPath(c, points, dur = HOUR) {
    let d = "";
    let prevEnd = null;
    for (const [t, v] of points) {
      const x0 = c.x(t);
      const x1 = c.x(t + dur);
      const yy = c.y(v);
      d += prevEnd !== null && Math.abs(prevEnd - t) < 1 ? `L${x0.toFixed(1)},${yy.toFixed(1)}` : `M${x0.toFixed(1)},${yy.toFixed(1)}`;
      d += `L${x1.toFixed(1)},${yy.toFixed(1)}`;
      prevEnd = t + dur;
    }
    return d;
  }

  /** An area between lo and hi per hour: points [t, lo, hi]. */
  function bandPath(c, points, dur = HOUR) {
    let d = "";
    let run = [];
    const flush = () => {
      if (!run.length) return;
      let top = "";
      let bottom = "";
      for (const [t, lo, hi] of run) {
        top += `L${c.x(t).toFixed(1)},${c.y(hi).toFixed(1)}L${c.x(t + dur).toFixed(1)},${c.y(hi).toFixed(1)}`;
      }
      for (const [t, lo] of run.slice().reverse()) {
        bottom += `L${c.x(t + dur).toFixed(1)},${c.y(lo).toFixed(1)}L${c.x(t).toFixed(1)},${c.y(lo).toFixed(1)}`;
      }
      d += `M${top.slice(1)}${bottom}Z`;
      run = [];
    };
    let prevEnd = null;
    for (const p of points) {
      if (p[1] === null || p[2] === null || p[1] === undefined || p[2] === undefined) { flush(); prevEnd = null; continue; }
      if (prevEnd !== null && Math.abs(prevEnd - p[0]) > 1) flush();
      run.push(p);
      prevEnd = p[0] + dur;
    }
    flush();
    return d;
  }

  /** A legend entry: a short line sample and a label. */
  function key(cls, label, kind = "line") {
    const sample = kind === "band"
      ? svg("svg", { viewBox: "0 0 24 12", "aria-hidden": "true" }, svg("rect", { class: cls, x: 0, y: 1, width: 24, height: 10, rx: 2 }))
      : svg("svg", { viewBox: "0 0 24 12", "aria-hidden": "true" }, svg("path", { class: cls, d: "M0,6L24,6" }));
    return el("span", { class: "key" }, sample, label);
  }

  const ms = (t) => new Date(t).getTime();

  window.K = {
    el, svg, fill, colour, scaleLegend, grams, intensity, pct, kwh, round, when, stamp, span,
    badge, live, timeChart, stepPath, bandPath, key, ms, HOUR, niceStep,
  };
})();
