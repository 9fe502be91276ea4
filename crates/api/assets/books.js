// Books page: the period's statement from the ledger (scopes, SCI, CFE), the ledger's size, its
// latest signed checkpoint and whether it verified.
"use strict";

(function () {
  const { el, svg, fill } = K;
  let period = new URLSearchParams(location.search).get("period") || "";
  let refresh = null;

  function card(label, value, unit, sub, id, raw) {
    return el("div", { class: "card", id: `card-${id}` },
      el("div", { class: "label" }, label),
      el("div", { class: "value", "data-value": raw === undefined || raw === null ? null : raw }, value, unit ? el("span", { class: "unit" }, unit) : null),
      el("div", { class: "sub", title: sub }, sub));
  }

  function render(d) {
    fill("period-label", d.period.label);
    const input = document.getElementById("period");
    if (document.activeElement !== input) input.value = d.period.label;
    if (!d.configured) {
      fill("books", el("section", { class: "notice", id: "no-ledger" },
        el("h2", {}, "No ledger configured"),
        el("p", {}, d.help),
        el("pre", { class: "help" }, "kite ledger init                 # a ledger and its signing key beside kite's database\nkite run --ledger -- ./train.sh   # each run's footprint is appended\nkite serve                        # restart: the Books page reads it")));
      return;
    }
    const st = d.statement;
    const parts = [ledgerPanel(d)];
    if (!st) {
      fill("books", ...parts, el("section", { class: "notice", id: "no-checkpoint" }, el("h2", {}, "No signed checkpoint yet"), el("p", {}, d.no_checkpoint)));
      return;
    }
    if (st.no_data) {
      parts.push(el("section", { class: "notice", id: "no-data" }, el("h2", {}, `No activity in ${d.period.label}`), el("p", {}, st.no_data)));
    } else {
      parts.push(cards(st));
      parts.push(scopes(st));
      parts.push(el("div", { class: "split" }, sci(st), cfe(st)));
    }
    if (st.caveats && st.caveats.length) {
      parts.push(el("section", { class: "panel", "aria-labelledby": "caveats-title" },
        el("div", { class: "panel-head" }, el("h2", { id: "caveats-title" }, "Caveats")),
        el("ul", { class: "caveats" }, st.caveats.map((c) => el("li", {}, c)))));
    }
    fill("books", ...parts);
    for (const s of document.querySelectorAll(".swatch[data-cls]")) s.classList.add(s.dataset.cls);
  }

  function ledgerPanel(d) {
    const l = d.ledger;
    const c = l.checkpoint;
    const v = l.verification;
    const item = (label, value, sub, id) => el("div", { class: "item", id },
      el("div", { class: "label" }, label), el("div", { class: "v" }, value), sub ? el("div", { class: "sub" }, sub) : null);
    return el("section", { class: "panel", "aria-labelledby": "ledger-title" },
      el("div", { class: "panel-head" }, el("h2", { id: "ledger-title" }, "Ledger"), el("span", { class: "muted small" }, l.origin)),
      el("div", { class: "ledger-strip" },
        item("Entries", el("span", { "data-n": l.size }, `${l.size.toLocaleString("en-US")}`),
          `${l.records === undefined ? "" : `${l.records} accounting record${l.records === 1 ? "" : "s"} counted`}${l.unsigned_entries ? ` · ${l.unsigned_entries} after the checkpoint, not counted` : ""}`, "ledger-size"),
        item("Latest checkpoint", c ? el("span", { "data-n": c.size }, `size ${c.size.toLocaleString("en-US")}`) : "none yet",
          c ? `${c.time ? `signed ${c.time.replace(/^time /, "")}` : "signed"} · key ${c.key_id}` : "sign one with kite ledger checkpoint", "ledger-checkpoint"),
        item("Root hash", c ? el("span", { class: "mono" }, c.root_hash) : "–", null, "ledger-root"),
        item("Verification", el("span", { class: `badge ${v.ok ? "ok" : "fail"}` }, v.ok ? "verified" : "FAILED"), v.detail, "ledger-verification")));
  }

  function cards(st) {
    const t = st.totals || {};
    const e = st.energy;
    const sc = st.sci && st.sci[0];
    const cf = st.cfe;
    return el("section", { class: "cards", "aria-label": "Totals" },
      card("Total, location-based", K.grams(t.location_based_g), "CO₂e", "scope 1 + 2 (location) + 3 embodied", "total-location", t.location_based_g),
      card("Total, market-based", K.grams(t.market_based_g), "CO₂e", "scope 1 + 2 (market) + 3 embodied", "total-market", t.market_based_g),
      card("Energy", e ? K.kwh(e.facility_kwh) : "–", "", e ? `facility · ${e.runs} run${e.runs === 1 ? "" : "s"} · ${K.pct(100 * e.measured_fraction, 0)} measured` : "no runs", "energy"),
      card("SCI", sc ? K.grams(sc.sci_g_per_unit) : "–", sc ? `/ ${sc.unit}` : "", sc ? `${sc.project || "all runs"} · R = ${K.round(sc.units, 0)} (${sc.source})` : "no functional units", "sci", sc && sc.sci_g_per_unit),
      card("24/7 CFE", cf ? K.pct(cf.hourly_pct) : "–", "", cf ? `hourly matched · annual matching ${K.pct(cf.annual_pct)}` : "no runs", "cfe", cf && cf.hourly_pct));
  }

  function scopes(st) {
    const s1 = st.scope1 ? st.scope1.total_g : 0;
    const s2l = st.scope2_location ? st.scope2_location.total_g : 0;
    const s2m = st.scope2_market ? st.scope2_market.total_g : 0;
    const s3 = st.scope3_embodied ? st.scope3_embodied.total_g : 0;
    const rows = [["Location-based", [s1, s2l, s3]], ["Market-based", [s1, s2m, s3]]];
    const max = Math.max(1, ...rows.map(([, v]) => v[0] + v[1] + v[2]));
    const W = 900;
    const L = 130;
    const R = 110;
    const H = 28;
    const chart = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${rows.length * (H + 18) + 6}`, role: "img", "aria-labelledby": "scope-svg-title scope-svg-desc" },
      svg("title", { id: "scope-svg-title" }, "Emissions by scope, location-based and market-based"),
      svg("desc", { id: "scope-svg-desc" }, rows.map(([n, v]) => `${n}: scope 1 ${K.grams(v[0])}, scope 2 ${K.grams(v[1])}, scope 3 ${K.grams(v[2])}`).join("; ")));
    rows.forEach(([name, v], i) => {
      const y = 6 + i * (H + 18);
      chart.append(svg("text", { class: "bar-label", x: L - 10, y: y + H / 2 + 4, "text-anchor": "end" }, name));
      let x = L;
      ["s1", "s2", "s3"].forEach((cls, k) => {
        const w = (v[k] / max) * (W - L - R);
        if (w > 0) chart.append(svg("rect", { class: `${cls} scope-bar`, x, y, width: Math.max(1, w), height: H, rx: 3, "data-g": v[k] }, svg("title", {}, `${name}, scope ${k + 1}: ${K.grams(v[k])}`)));
        x += w;
      });
      chart.append(svg("text", { class: "bar-value", x: x + 8, y: y + H / 2 + 4 }, K.grams(v[0] + v[1] + v[2])));
    });
    const row = (label, cls, a, b, note) => el("tr", {},
      el("th", { scope: "row" }, el("span", { class: "chip" }, el("span", { class: "swatch", "data-cls": cls, "aria-hidden": "true" }), label)),
      el("td", { class: "num", "data-g": a }, K.grams(a)), el("td", { class: "num", "data-g": b }, K.grams(b)), el("td", { class: "muted small" }, note));
    return el("section", { class: "panel", "aria-labelledby": "scopes-title" },
      el("div", { class: "panel-head" }, el("h2", { id: "scopes-title" }, "Emissions by scope")),
      el("figure", {}, chart),
      el("div", { class: "table-wrap" }, el("table", { id: "scopes" },
        el("caption", {}, "Grams CO₂e in the period. Offsets are reported apart and never netted."),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Scope"), el("th", { scope: "col", class: "num" }, "Location-based"), el("th", { scope: "col", class: "num" }, "Market-based"), el("th", { scope: "col" }, "Basis"))),
        el("tbody", {},
          row("Scope 1 (on-site)", "s1", s1, s1, st.scope1 ? `${st.scope1.items.length} on-site entr${st.scope1.items.length === 1 ? "y" : "ies"}` : "none recorded"),
          row("Scope 2 (electricity)", "s2", s2l, s2m, st.scope2_market ? `market: ${K.kwh(st.scope2_market.covered_kwh)} covered by instruments` : ""),
          row("Scope 3 (embodied)", "s3", s3, s3, st.scope3_embodied ? `${K.grams(st.scope3_embodied.from_inventory_g)} from inventory, ${K.grams(st.scope3_embodied.from_runs_g)} from runs` : ""),
          el("tr", {}, el("th", { scope: "row" }, "Offsets retired (not netted)"), el("td", { class: "num", "data-g": st.offsets.retired_g }, K.grams(st.offsets.retired_g)), el("td", { class: "num" }, K.grams(st.offsets.retired_g)), el("td", { class: "muted small" }, st.offsets.ids.join(", ") || "none"))))));
  }

  function sci(st) {
    return el("section", { class: "panel", "aria-labelledby": "sci-title" },
      el("div", { class: "panel-head" }, el("h2", { id: "sci-title" }, "Software Carbon Intensity"), el("span", { class: "muted small" }, "(E·I + M) / R, ISO/IEC 21031")),
      st.sci.length
        ? el("div", { class: "table-wrap" }, el("table", { id: "sci" },
          el("thead", {}, el("tr", {}, ["Project", "Unit", "R", "E·I", "M", "SCI"].map((h, i) => el("th", { scope: "col", class: i >= 2 ? "num" : null }, h)))),
          el("tbody", {}, st.sci.map((s) => el("tr", {},
            el("th", { scope: "row" }, s.project || "all runs"), el("td", {}, s.unit), el("td", { class: "num" }, K.round(s.units, s.units % 1 ? 2 : 0)),
            el("td", { class: "num", "data-g": s.operational_g }, K.grams(s.operational_g)), el("td", { class: "num", "data-g": s.embodied_g }, K.grams(s.embodied_g)),
            el("td", { class: "num", "data-g": s.sci_g_per_unit }, el("strong", {}, K.grams(s.sci_g_per_unit)), ` / ${s.unit}`))))))
        : el("p", { class: "muted" }, "No SCI score: no runs in the period."));
  }

  function cfe(st) {
    const c = st.cfe;
    if (!c) return el("section", { class: "panel" }, el("h2", {}, "24/7 carbon-free energy"), el("p", { class: "muted" }, "No runs in the period."));
    const W = 340;
    const bars = [["Hourly (24/7)", c.hourly_pct, "cfe-hourly"], ["Annual matching", c.annual_pct, "s2"], ["Renewable, annual", c.renewable_annual_pct, "s3"]];
    const chart = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${bars.length * 34}`, role: "img", "aria-labelledby": "cfe-svg-title" },
      svg("title", { id: "cfe-svg-title" }, `Carbon-free energy: hourly ${K.pct(c.hourly_pct)}, annual ${K.pct(c.annual_pct)}`));
    bars.forEach(([label, v, cls], i) => {
      const y = i * 34 + 4;
      chart.append(svg("text", { class: "bar-label", x: 0, y: y + 15 }, label));
      chart.append(svg("rect", { class: "cfe-annual", x: 120, y, width: W - 180, height: 22, rx: 4 }));
      chart.append(svg("rect", { class: `${cls} cfe-bar`, x: 120, y, width: Math.max(0, Math.min(100, v)) / 100 * (W - 180), height: 22, rx: 4, "data-pct": v }));
      chart.append(svg("text", { class: "bar-value", x: W - 52, y: y + 15 }, K.pct(v)));
    });
    return el("section", { class: "panel", "aria-labelledby": "cfe-title" },
      el("div", { class: "panel-head" }, el("h2", { id: "cfe-title" }, "24/7 carbon-free energy")),
      el("figure", {}, chart),
      el("p", { class: "muted small" }, `Gap between annual matching and hourly: ${K.round(c.gap_pct, 1)} percentage points.`),
      c.notes.length ? el("details", {}, el("summary", {}, "How it was computed"), el("ul", {}, c.notes.map((n) => el("li", {}, n)))) : null);
  }

  function monthOf(d) {
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  }

  function go(p) {
    period = p;
    const u = new URL(location.href);
    if (p) u.searchParams.set("period", p); else u.searchParams.delete("period");
    history.replaceState(null, "", u);
    if (refresh) refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("period-form").addEventListener("submit", (e) => {
      e.preventDefault();
      go(document.getElementById("period").value.trim());
    });
    for (const b of document.querySelectorAll("[data-preset]")) {
      b.addEventListener("click", () => {
        const now = new Date();
        if (b.dataset.preset === "month") go(monthOf(now));
        else if (b.dataset.preset === "year") go(String(now.getUTCFullYear()));
        else go(monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1))));
      });
    }
    refresh = K.live(() => `/dashboard/data/books${period ? `?period=${encodeURIComponent(period)}` : ""}`, render);
  });
})();
