// Jobs page: planned windows against actual runs over the intensity curve, and the carbon each
// plan saves against starting at once.
"use strict";

(function () {
  const { el, svg, fill, colour } = K;
  const LANE = 24;
  const MAX_LANES = 24;
  const state = { data: null, zone: null };

  const short = (id) => id.slice(-6);

  function render(d) {
    state.data = d;
    fill("signal", d.signal);
    const t = d.totals;
    const bs = d.by_state;
    const done = (bs.succeeded || 0) + (bs.failed || 0) + (bs.lost || 0);
    fill("cards",
      card("Carbon saved by planning", K.grams(t.saved_g), "CO₂e",
        t.jobs_compared ? `${K.pct(t.saved_percent)} less than starting at once · ${t.jobs_compared} job${t.jobs_compared === 1 ? "" : "s"}` : "no planned job to compare yet",
        "saved", t.saved_g, t.saved_g > 0 ? "good" : null),
      card("Planned emissions", K.grams(t.planned_g), "CO₂e", `vs ${K.grams(t.run_now_g)} if each started at once`, "planned", t.planned_g),
      card("Planned · running", `${bs.planned || 0} · ${bs.running || 0}`, "", `${bs.pending || 0} pending (not placed yet)`, "active"),
      card("Finished, last 7 days", `${done}`, "", `${bs.succeeded || 0} succeeded · ${(bs.failed || 0) + (bs.lost || 0)} failed or lost · ${bs.cancelled || 0} cancelled`, "done"));
    const sel = document.getElementById("curve-zone");
    const zones = d.curves.map((c) => c.zone);
    if (!state.zone || !zones.includes(state.zone)) state.zone = zones[0] || null;
    sel.replaceChildren(...d.curves.map((c) => el("option", { value: c.zone, selected: c.zone === state.zone }, `${c.zone}${c.name ? ` · ${c.name}` : ""}`)));
    sel.disabled = zones.length < 2;
    renderTimeline(d);
    renderTable(d);
  }

  function card(label, value, unit, sub, id, raw, cls) {
    return el("div", { class: `card${cls ? ` ${cls}` : ""}`, id: `card-${id}` },
      el("div", { class: "label" }, label),
      el("div", { class: "value", "data-value": raw === undefined || raw === null ? null : raw }, value, unit ? el("span", { class: "unit" }, unit) : null),
      el("div", { class: "sub", title: sub }, sub));
  }

  function renderTimeline(d) {
    const start = K.ms(d.window.start);
    const end = K.ms(d.window.end);
    const now = K.ms(d.generated_at);
    const curve = d.curves.find((c) => c.zone === state.zone);
    const pts = curve ? curve.segments.flatMap((s) => s.points.map((p) => [K.ms(p[0]), p[1], s.provenance])) : [];
    const ymax = Math.max(50, ...pts.map((p) => p[1]));
    const step = K.niceStep(ymax * 1.08, 4);
    const jobs = d.jobs.slice(0, MAX_LANES).slice().reverse().sort((a, b) => laneStart(a) - laneStart(b));
    const lanes = jobs.length;
    const plotH = 170;
    const c = K.timeChart({
      start, end, now, ymax: Math.ceil((ymax * 1.08) / step) * step, width: 1000,
      left: 120, height: 24 + plotH + 28 + (lanes ? lanes * LANE + 18 : 0), below: lanes ? lanes * LANE + 18 : 0,
      title: `Jobs and ${state.zone || "grid"} carbon intensity, ${K.stamp(start)} to ${K.stamp(end)}`,
      desc: `${lanes} job lanes; planned windows as outlined bars, actual runs as solid bars; intensity of ${state.zone || "no zone"} as coloured hourly columns.`,
    });
    // The curve: each hour a column coloured by its intensity, and its step line.
    const cols = svg("g", { class: "area", "aria-hidden": "true" });
    for (const [t, v] of pts) {
      const x0 = c.x(Math.max(start, t));
      const x1 = c.x(Math.min(end, t + K.HOUR));
      if (x1 <= x0) continue;
      cols.append(svg("rect", { x: x0.toFixed(1), y: c.y(v).toFixed(1), width: (x1 - x0).toFixed(2), height: (c.axisY - c.y(v)).toFixed(1), fill: colour(v), "fill-opacity": 0.28 }));
    }
    c.plot.append(cols);
    if (curve) {
      for (const s of curve.segments) {
        const p = s.points.map((q) => [K.ms(q[0]), q[1]]);
        c.plot.append(svg("path", { class: `${s.provenance === "measured" ? "line-measured" : s.provenance === "forecast" ? "line-forecast" : "line-estimated"} series`, d: K.stepPath(c, p) },
          svg("title", {}, `${s.provenance}: ${s.source}`)));
      }
    }
    c.svg.append(svg("text", { x: 0, y: 11 }, "gCO₂e/kWh"));
    // Lanes
    const top = c.axisY + 30;
    const lanesG = svg("g", { class: "lanes" });
    jobs.forEach((j, i) => {
      const y = top + i * LANE;
      const g = svg("g", { class: "lane", "data-job": j.id });
      g.append(svg("line", { class: "grid-line", x1: c.left, x2: c.right, y1: y + LANE - 2, y2: y + LANE - 2 }));
      g.append(svg("text", { x: c.left - 8, y: y + 14, "text-anchor": "end" }, `${short(j.id)}${j.project ? ` ${j.project}` : ""}`.slice(0, 18)));
      const clip = (t) => Math.max(start, Math.min(end, t));
      // allowed window, earliest start → deadline
      const a = c.x(clip(K.ms(j.earliest_start)));
      const b = c.x(clip(K.ms(j.deadline)));
      g.append(svg("line", { class: "allowed", x1: a, x2: b, y1: y + 10, y2: y + 10 }));
      g.append(svg("line", { class: "deadline", x1: b, x2: b, y1: y + 3, y2: y + 17 }, svg("title", {}, `deadline ${K.stamp(j.deadline)}`)));
      if (j.plan) {
        for (const [ps, pe] of j.plan.pieces) {
          const x0 = c.x(clip(K.ms(ps)));
          const x1 = c.x(clip(K.ms(pe)));
          g.append(svg("rect", { class: "plan-bar", x: x0, y: y + 2, width: Math.max(1.5, x1 - x0), height: 16, rx: 3 },
            svg("title", {}, `${j.id}: planned ${K.stamp(ps)} – ${K.stamp(pe)} in ${j.plan.region}, ${K.grams(j.plan.emissions_g)} CO₂e${j.plan.saved_g !== null ? `, saves ${K.grams(j.plan.saved_g)}` : ""}`)));
        }
      }
      if (j.plan && j.plan.saved_g !== null) {
        const xe = c.x(clip(K.ms(j.plan.end)));
        g.append(svg("text", { class: j.plan.saved_g >= 0 ? "lane-saved" : "lane-worse", x: xe + 6, y: y + 14 }, `${j.plan.saved_g >= 0 ? "−" : "+"}${K.grams(Math.abs(j.plan.saved_g))}`));
      }
      if (j.started_at) {
        const s = K.ms(j.started_at);
        const e = j.finished_at ? K.ms(j.finished_at) : now;
        const x0 = c.x(clip(s));
        const x1 = c.x(clip(e));
        g.append(svg("rect", { class: "run-bar", x: x0, y: y + 6, width: Math.max(1.5, x1 - x0), height: 8, rx: 2 },
          svg("title", {}, `${j.id}: ran ${K.stamp(j.started_at)} – ${j.finished_at ? K.stamp(j.finished_at) : "now"} (${j.state})`)));
      }
      lanesG.append(g);
    });
    c.plot.append(lanesG);
    if (!lanes) c.svg.append(svg("text", { x: (c.left + c.right) / 2, y: c.top + 80, "text-anchor": "middle" }, "No jobs yet: submit one with kite submit."));
    fill("timeline", c.svg);
    fill("timeline-legend",
      el("span", { class: "key" }, legendRect("plan-bar", 10), "planned window"),
      el("span", { class: "key" }, legendRect("run-bar", 6), "actual run"),
      el("span", { class: "key" }, svg("svg", { viewBox: "0 0 24 12", "aria-hidden": "true" }, svg("path", { d: "M2,6L22,6", class: "allowed" }), svg("path", { d: "M22,1L22,11", class: "deadline" })), "allowed window and deadline"),
      K.key("line-measured", "intensity, measured"),
      K.key("line-forecast", "forecast"),
      K.key("line-estimated", "estimated"));
    const srcs = curve ? [...new Set(curve.segments.map((s) => `${s.provenance}: ${s.source}`))] : [];
    fill("curve-note", curve ? `Intensity of ${curve.zone}${curve.note ? `: ${curve.note}` : ""}${srcs.length ? ` — ${srcs.join("; ")}` : ""}.` : "No zone to show an intensity curve for.");
  }

  function laneStart(j) {
    return K.ms(j.plan ? j.plan.start : j.started_at || j.earliest_start);
  }

  function legendRect(cls, h) {
    return svg("svg", { viewBox: "0 0 24 12", "aria-hidden": "true" }, svg("rect", { class: cls, x: 1, y: (12 - h) / 2, width: 22, height: h, rx: 2 }));
  }

  function renderTable(d) {
    const tbody = document.querySelector("#jobs tbody");
    const range = (a, b) => `${K.when(a)} – ${K.when(b)}`;
    tbody.replaceChildren(...d.jobs.map((j) => {
      const p = j.plan;
      const saved = p && p.saved_g !== null ? p.saved_g : null;
      return el("tr", { "data-job": j.id },
        el("th", { scope: "row", class: "mono", title: j.id }, short(j.id)),
        el("td", {}, [j.project, j.team].filter(Boolean).join(" · ") || el("span", { class: "muted" }, "–")),
        el("td", {}, el("span", { class: `state ${j.state}` }, j.state), j.reason ? el("div", { class: "muted small" }, j.reason) : null),
        el("td", {}, p ? p.region : j.regions.join(", ") || "–"),
        el("td", { class: "small" }, p ? range(p.start, p.end) : `by ${K.stamp(j.deadline)}`, p ? el("div", { class: "muted small" }, p.policy) : null),
        el("td", { class: "small" }, j.started_at ? range(j.started_at, j.finished_at || d.generated_at) + (j.finished_at ? "" : " (running)") : el("span", { class: "muted" }, "not started")),
        el("td", { class: "num", "data-g": p ? p.emissions_g : null }, p ? K.grams(p.emissions_g) : "–"),
        el("td", { class: "num", "data-g": p && p.run_now_emissions_g !== null ? p.run_now_emissions_g : null }, p ? K.grams(p.run_now_emissions_g) : "–"),
        el("td", { class: "num", "data-g": saved },
          saved === null ? "–" : el("span", { class: saved >= 0 ? "saved" : "worse" }, K.grams(saved)),
          p && p.saved_percent !== null ? el("div", { class: "muted small" }, K.pct(p.saved_percent)) : null));
    }));
    fill("jobs-caption", `${d.jobs.length} job${d.jobs.length === 1 ? "" : "s"}: still to run, or ran in the last week; newest first.`);
    fill("jobs-basis", `Saved: ${d.totals.basis}.`);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("curve-zone").addEventListener("change", (e) => {
      state.zone = e.target.value;
      if (state.data) renderTimeline(state.data);
    });
    K.live(() => "/dashboard/data/jobs", render);
  });
})();
