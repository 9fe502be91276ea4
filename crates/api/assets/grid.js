// Grid page: the world map and table of zones coloured by their intensity now, and one zone's
// last and next 48 hours with kite's forecast and its p10–p90 band.
"use strict";

(function () {
  const { el, svg, fill, colour } = K;
  const ANNUAL = "annual mean (embedded)";
  const state = {
    grid: null,
    zone: null, // selected zone key
    zoneRun: null,
    sort: { key: "gco2_per_kwh", dir: 1 },
    filter: "",
    hourlyOnly: false,
  };

  const hourly = (z) => z.gco2_per_kwh !== null && z.source !== ANNUAL;

  function fromHash() {
    const m = /zone=([^&]+)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function select(key, push = true) {
    if (!key) return;
    state.zone = key;
    if (push) history.replaceState(null, "", `#zone=${encodeURIComponent(key)}`);
    if (state.grid) {
      renderMap(state.grid);
      renderTable(state.grid);
    }
    if (state.zoneRun) state.zoneRun();
    else state.zoneRun = K.live(() => `/dashboard/data/zone/${encodeURIComponent(state.zone)}`, renderZone);
  }

  // -----------------------------------------------------------------------------------------
  // Summary

  function renderGrid(d) {
    state.grid = d;
    fill("signal", `${d.signal} · ${K.stamp(d.hour)} hour`);
    const zones = d.zones;
    const withValue = zones.filter((z) => z.gco2_per_kwh !== null);
    const ranked = zones.filter(hourly).sort((a, b) => a.gco2_per_kwh - b.gco2_per_kwh);
    const c = d.counts || {};
    const median = (() => {
      const v = ranked.map((z) => z.gco2_per_kwh);
      if (!v.length) return null;
      const m = Math.floor(v.length / 2);
      return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    })();
    const lo = ranked[0];
    const hi = ranked[ranked.length - 1];
    fill("cards",
      card("Zones with a value now", `${withValue.length}`, `of ${zones.length}`,
        `measured ${c.measured || 0} · forecast ${c.forecast || 0} · estimated ${c.estimated || 0}`, "zones-with-value"),
      card("Lowest now", lo ? K.intensity(lo.gco2_per_kwh) : "–", "gCO₂e/kWh",
        lo ? `${lo.key} · ${lo.name} · ${lo.provenance}` : "no hourly data", "lowest", lo && lo.gco2_per_kwh),
      card("Median, hourly zones", K.intensity(median), "gCO₂e/kWh", `${ranked.length} zones with hourly data`, "median", median),
      card("Highest now", hi ? K.intensity(hi.gco2_per_kwh) : "–", "gCO₂e/kWh",
        hi ? `${hi.key} · ${hi.name} · ${hi.provenance}` : "no hourly data", "highest", hi && hi.gco2_per_kwh));
    renderMap(d);
    renderRanks(ranked);
    renderTable(d);
    if (!state.zone) {
      const first = zones.filter((z) => z.provenance === "measured").sort((a, b) => a.key.localeCompare(b.key))[0];
      select(fromHash() || (first && first.key) || "DE", false);
    }
  }

  function card(label, value, unit, sub, id, raw) {
    return el("div", { class: "card", id: `card-${id}` },
      el("div", { class: "label" }, label),
      el("div", { class: "value", "data-value": raw === undefined || raw === null ? null : raw }, value, el("span", { class: "unit" }, unit)),
      el("div", { class: "sub", title: sub }, sub));
  }

  function renderRanks(ranked) {
    const item = (z) => el("li", {},
      el("span", { class: "swatch", "aria-hidden": "true", "data-colour": colour(z.gco2_per_kwh) }),
      el("button", { class: "linkish", type: "button", onclick: () => select(z.key) }, z.key),
      el("span", { class: "name" }, z.name),
      el("span", { class: "v" }, K.intensity(z.gco2_per_kwh)));
    fill("cleanest", ranked.slice(0, 5).map(item));
    fill("dirtiest", ranked.slice(-5).reverse().map(item));
    paintSwatches(document);
    fill("rank-note", `Among ${ranked.length} zones with hourly data (measured, forecast, or a typical-week estimate); zones known only by an annual mean are on the map and in the table.`);
  }

  // Colours are set through the CSSOM (the page's CSP forbids inline style attributes).
  function paintSwatches(root) {
    for (const s of root.querySelectorAll(".swatch[data-colour]")) s.style.background = s.dataset.colour;
  }

  // -----------------------------------------------------------------------------------------
  // Map: equirectangular, 2 units per degree, cropped to 79°N–66°S.

  function renderMap(d) {
    const X = (lon) => (lon + 180) * 2;
    const Y = (lat) => (90 - lat) * 2;
    const root = svg("svg", { viewBox: "0 22 720 290", role: "img", "aria-labelledby": "map-svg-title map-svg-desc" },
      svg("title", { id: "map-svg-title" }, "World map of grid zones coloured by carbon intensity now"),
      svg("desc", { id: "map-svg-desc" }, `${d.zones.filter((z) => z.gco2_per_kwh !== null).length} zones with a value in the hour starting ${K.stamp(d.hour)}; green is low, red is high. The table below lists every value.`),
      svg("rect", { class: "sea", x: 0, y: 22, width: 720, height: 290, rx: 6 }));
    const g = svg("g", { "aria-hidden": "true" });
    for (let lon = -150; lon <= 150; lon += 30) g.append(svg("line", { class: "graticule", x1: X(lon), x2: X(lon), y1: 22, y2: 312 }));
    for (let lat = -60; lat <= 60; lat += 30) g.append(svg("line", { class: lat === 0 ? "equator" : "graticule", x1: 0, x2: 720, y1: Y(lat), y2: Y(lat) }));
    root.append(g);
    const order = { estimated: 0, forecast: 1, measured: 2 };
    const dots = d.zones.filter((z) => z.lat !== null && z.gco2_per_kwh !== null)
      .sort((a, b) => (order[a.provenance] - order[b.provenance]) || (a.source === ANNUAL) - (b.source === ANNUAL));
    const readout = document.getElementById("map-readout");
    for (const z of dots) {
      const annual = z.source === ANNUAL;
      const r = z.provenance === "measured" ? 4.6 : annual ? 3 : 4;
      const c = svg("circle", {
        class: `zone ${z.provenance}${z.key === state.zone ? " selected" : ""}`,
        cx: X(z.lon).toFixed(1), cy: Y(z.lat).toFixed(1), r, fill: colour(z.gco2_per_kwh), "data-zone": z.key,
        onclick: () => select(z.key),
        onmouseenter: () => readout && (readout.textContent = describe(z)),
      }, svg("title", {}, describe(z)));
      root.append(c);
    }
    fill("map", root);
    fill("map-legend", K.scaleLegend());
    if (!document.getElementById("map-readout")) {
      fill("map-keys",
        el("span", { class: "key" }, dotKey("measured"), "measured"),
        el("span", { class: "key" }, dotKey("forecast"), "forecast (ringed)"),
        el("span", { class: "key" }, dotKey("estimated"), "estimated (faded; small: annual mean only)"),
        el("span", { class: "readout", id: "map-readout" }, "Hover a dot for its value; click it for its chart."));
    }
  }

  function dotKey(prov) {
    return svg("svg", { viewBox: "0 0 12 12", width: 12, height: 12, "aria-hidden": "true", class: "map" },
      svg("circle", { class: `zone ${prov}`, cx: 6, cy: 6, r: 4.5, fill: colour(300) }));
  }

  function describe(z) {
    if (z.gco2_per_kwh === null) return `${z.key} ${z.name}: no value (${z.note || "no data"})`;
    return `${z.key} ${z.name}: ${K.intensity(z.gco2_per_kwh)} gCO₂e/kWh, ${z.provenance} (${z.source}${z.method ? `; ${z.method}` : ""})`;
  }

  // -----------------------------------------------------------------------------------------
  // Table

  function renderTable(d) {
    const f = state.filter.toLowerCase();
    let rows = d.zones.filter((z) => !state.hourlyOnly || hourly(z))
      .filter((z) => !f || `${z.key} ${z.name} ${z.source || ""}`.toLowerCase().includes(f));
    const { key, dir } = state.sort;
    rows = rows.slice().sort((a, b) => {
      const va = a[key];
      const vb = b[key];
      if (va === null || va === undefined) return vb === null || vb === undefined ? a.key.localeCompare(b.key) : 1;
      if (vb === null || vb === undefined) return -1;
      const c = typeof va === "number" ? va - vb : String(va).localeCompare(String(vb));
      return c * dir || a.key.localeCompare(b.key);
    });
    const now = K.ms(d.generated_at);
    const tbody = document.querySelector("#zones tbody");
    tbody.replaceChildren(...rows.map((z) => el("tr", { "data-zone": z.key, class: z.key === state.zone ? "selected" : null },
      el("th", { scope: "row" }, el("button", { class: "linkish", type: "button", onclick: () => select(z.key) }, z.key)),
      el("td", {}, z.name),
      el("td", { class: "num", "data-g": z.gco2_per_kwh === null ? null : z.gco2_per_kwh },
        el("span", { class: "chip" }, el("span", { class: "swatch", "aria-hidden": "true", "data-colour": colour(z.gco2_per_kwh) }), K.intensity(z.gco2_per_kwh))),
      el("td", {}, K.badge(z.provenance)),
      el("td", { class: "small src", title: [z.source, z.method, z.note].filter(Boolean).join(" · ") },
        el("span", {}, z.source || z.note || "–"), z.method ? el("div", { class: "muted small" }, z.method) : null),
      el("td", { class: "small when", title: z.at ? K.stamp(z.at) : "" }, z.at ? `${K.when(z.at)} UTC` : "–",
        z.provenance === "measured" && z.at ? el("div", { class: "muted small" }, `${K.span(now - K.ms(z.at))} old`) : null))));
    paintSwatches(tbody);
    fill("zones-caption", `${rows.length} of ${d.zones.length} zones, intensity in the hour starting ${K.stamp(d.hour)} (UTC), signal ${d.signal}. Sources: ${d.sources}.`);
    for (const th of document.querySelectorAll("#zones th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === key ? (dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  // -----------------------------------------------------------------------------------------
  // Zone chart

  function renderZone(d) {
    const start = K.ms(d.window.start);
    const end = K.ms(d.window.end);
    const now = K.ms(d.generated_at);
    fill("zone-title", `${d.zone} · ${d.name}`);
    fill("zone-sub", `last and next 48 h, hourly, ${d.signal}`);

    const fc = d.forecast && d.forecast.available ? d.forecast : null;
    const kitePoints = fc ? fc.points.map((p) => [K.ms(p[0]), p[1], p[2], p[3]]).filter((p) => p[0] < end && p[0] + K.HOUR > start) : [];
    // With kite's interval forecast on the chart, the chain's own kite point forecast is the
    // same model family: not drawn twice.
    const segments = d.segments
      .filter((s) => !(fc && s.provenance === "forecast" && s.source.startsWith("kite forecast")))
      .map((s) => ({ ...s, pts: s.points.map((p) => [K.ms(p[0]), p[1]]) }));
    const values = segments.flatMap((s) => s.pts.map((p) => p[1])).concat(kitePoints.flatMap((p) => [p[1], p[3] || 0]));
    const ymax = niceMax(Math.max(50, ...values));
    const c = K.timeChart({
      start, end, now, ymax, width: 860, height: 300,
      title: `${d.zone} carbon intensity, gCO₂e/kWh, ${K.stamp(start)} to ${K.stamp(end)}`,
      desc: chartDesc(d, segments, kitePoints),
    });
    if (kitePoints.length) c.plot.append(svg("path", { class: "band", d: K.bandPath(c, kitePoints.map((p) => [p[0], p[2], p[3]])) }));
    const cls = { measured: "line-measured", estimated: "line-estimated", forecast: "line-forecast" };
    for (const s of segments) {
      c.plot.append(svg("path", { class: `${cls[s.provenance]} series`, d: K.stepPath(c, s.pts), "data-provenance": s.provenance },
        svg("title", {}, `${s.provenance}: ${s.source}${s.method ? `; ${s.method}` : ""}`)));
    }
    if (kitePoints.length) c.plot.append(svg("path", { class: "line-kite series", d: K.stepPath(c, kitePoints.map((p) => [p[0], p[1]])), "data-provenance": "kite-forecast" }));
    c.svg.append(svg("text", { x: 0, y: 11 }, "gCO₂e/kWh"));
    hover(c, segments, kitePoints);
    fill("zone-chart", c.svg);

    // The value now, with its basis.
    const cur = segments.flatMap((s) => s.pts.map((p) => ({ t: p[0], v: p[1], s }))).find((p) => p.t <= now && now < p.t + K.HOUR);
    fill("zone-now", cur
      ? [el("span", { class: "swatch", "aria-hidden": "true", "data-colour": colour(cur.v) }),
        el("span", { class: "big", id: "zone-value", "data-g": cur.v }, K.intensity(cur.v)),
        el("span", { class: "unit" }, "gCO₂e/kWh now"), K.badge(cur.s.provenance),
        el("span", { class: "muted small" }, `${cur.s.source}${cur.s.method ? ` · ${cur.s.method}` : ""}`)]
      : el("span", { class: "muted" }, "no value for the current hour"));
    paintSwatches(document.getElementById("zone-now"));
    const provs = new Set(segments.map((s) => s.provenance));
    fill("zone-legend",
      provs.has("measured") ? K.key("line-measured", "measured") : null,
      provs.has("estimated") ? K.key("line-estimated", "estimated") : null,
      provs.has("forecast") ? K.key("line-forecast", "forecast (chain)") : null,
      kitePoints.length ? K.key("line-kite", `kite forecast (${fc.model})`) : null,
      kitePoints.length ? K.key("band", "p10–p90 interval", "band") : null);
    const notes = [...d.notes];
    if (fc) {
      notes.push(`kite forecast: ${fc.model}, issued ${K.stamp(fc.issued_at)}, from ${fc.history}; intervals: ${fc.intervals}`);
      notes.push(...fc.notes);
    } else if (d.forecast) {
      notes.push(d.forecast.reason);
    }
    fill("zone-notes-list", notes.map((n) => el("li", {}, n)));
  }

  function niceMax(v) {
    const step = K.niceStep(v * 1.08, 4);
    return Math.ceil((v * 1.08) / step) * step;
  }

  function chartDesc(d, segments, kite) {
    const parts = segments.map((s) => {
      const v = s.pts.map((p) => p[1]);
      return `${s.provenance} from ${s.source}: ${v.length} hours, ${K.intensity(Math.min(...v))} to ${K.intensity(Math.max(...v))} g/kWh`;
    });
    if (kite.length) parts.push(`kite forecast: ${kite.length} hours with a p10–p90 band`);
    return parts.join("; ");
  }

  function hover(c, segments, kite) {
    const area = svg("rect", { x: c.left, y: c.top, width: c.right - c.left, height: c.axisY - c.top, fill: "transparent" });
    const line = svg("line", { class: "hover-line", y1: c.top, y2: c.axisY, x1: -10, x2: -10, visibility: "hidden" });
    c.over.append(line, area);
    const out = document.getElementById("zone-readout");
    area.addEventListener("mousemove", (ev) => {
      const box = c.svg.getBoundingClientRect();
      const px = ((ev.clientX - box.left) / box.width) * c.width;
      const t = Math.floor(c.t(px) / K.HOUR) * K.HOUR;
      line.setAttribute("x1", c.x(t + K.HOUR / 2));
      line.setAttribute("x2", c.x(t + K.HOUR / 2));
      line.setAttribute("visibility", "visible");
      const parts = [];
      for (const s of segments) {
        const p = s.pts.find((q) => q[0] === t);
        if (p) parts.push(`${K.intensity(p[1])} g/kWh ${s.provenance} (${s.source})`);
      }
      const k = kite.find((q) => q[0] === t);
      if (k) parts.push(`kite forecast ${K.intensity(k[1])} (p10 ${K.intensity(k[2])} – p90 ${K.intensity(k[3])})`);
      out.textContent = `${K.when(t)} UTC · ${parts.join(" · ") || "no data"}`;
    });
    area.addEventListener("mouseleave", () => { line.setAttribute("visibility", "hidden"); out.textContent = ""; });
  }

  // -----------------------------------------------------------------------------------------
  // Wiring

  document.addEventListener("DOMContentLoaded", () => {
    for (const th of document.querySelectorAll("#zones th[data-sort]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.sort;
        state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
        if (state.grid) renderTable(state.grid);
      });
    }
    document.getElementById("filter").addEventListener("input", (e) => {
      state.filter = e.target.value;
      if (state.grid) renderTable(state.grid);
    });
    const only = document.getElementById("only-data");
    only.addEventListener("click", () => {
      state.hourlyOnly = !state.hourlyOnly;
      only.setAttribute("aria-pressed", String(state.hourlyOnly));
      if (state.grid) renderTable(state.grid);
    });
    window.addEventListener("hashchange", () => { const z = fromHash(); if (z && z !== state.zone) select(z, false); });
    K.live(() => "/dashboard/data/grid", renderGrid);
  });
})();
