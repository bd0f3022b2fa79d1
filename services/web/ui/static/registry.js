// A deployment's page: charts sampled from the gateway's counters, kept live by its events.
// The gateway keeps no time series: each revision reports requests and errors since its
// rollout began and the p99 of its latest requests, so the charts start when the page opens.
"use strict";

(function () {
  const POLL_MS = 2000;
  const MAX_POINTS = 1800;  // an hour of samples; older points scroll off
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];
  const CHARTS = {  // the lines of each chart
    replicas: ["ready", "desired"],
    rate: ["requests/s"],
    latency: ["stable p99", "canary p99"],
    errors: ["errors %"],
  };

  function width(el) {
    return Math.max(240, Math.floor(el.getBoundingClientRect().width) || 480);
  }

  // makeChart's x-axis is a step; these are over wall-clock time.
  function timeChart(figure, labels) {
    const el = figure.querySelector(".plot");
    const data = [[], ...labels.map(() => [])];
    const series = [{ label: "time" }].concat(labels.map((label, i) => ({
      label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
    })));
    const chart = new uPlot({
      width: width(el), height: 200, series,
      // from zero, and at least 0..1: a flat line at zero sits at the bottom, not mid-chart
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      legend: { show: labels.length > 1 },
      cursor: { drag: { x: true, y: false } },
    }, data, el);
    new ResizeObserver(() => chart.setSize({ width: width(el), height: 200 })).observe(el);
    return {
      add(t, values) {
        data[0].push(t);
        values.forEach((v, i) => data[i + 1].push(v));
        if (data[0].length > MAX_POINTS) data.forEach((d) => d.shift());
        chart.setData(data);
        figure.dataset.points = String(data[0].length);
      },
    };
  }

  // What happened between two samples: a revision new since the last one (or whose
  // counters were reset by a rollout) counts from zero.
  function deltas(prev, cur) {
    const before = new Map(prev.revisions.map((r) => [r.revision, r]));
    let requests = 0, errors = 0;
    for (const r of cur.revisions) {
      const old = before.get(r.revision);
      const fresh = !old || Number(r.requests) < Number(old.requests);
      requests += Number(r.requests) - (fresh ? 0 : Number(old.requests));
      errors += Number(r.errors) - (fresh ? 0 : Number(old.errors));
    }
    return { requests, errors };
  }

  function p99(sample, role) {
    const r = sample.revisions.find((x) => x.role === role);
    return r && Number(r.requests) > 0 ? r.p99_ms : null;
  }

  function charts(root) {
    const made = {};
    for (const [name, labels] of Object.entries(CHARTS)) {
      made[name] = timeChart(root.querySelector(`figure[data-chart="${name}"]`), labels);
    }
    let prev = null;
    return (s) => {
      const t = s.time / 1000;
      made.replicas.add(t, [s.ready, s.desired]);
      made.latency.add(t, [p99(s, "stable"), p99(s, "canary")]);
      const dt = prev ? (s.time - prev.time) / 1000 : 0;
      if (dt > 0) {
        const d = deltas(prev, s);
        made.rate.add(t, [d.requests / dt]);
        made.errors.add(t, [d.requests ? (100 * d.errors) / d.requests : null]);
      }
      prev = s;
    };
  }

  function describe(event) {
    const d = event.data || {};
    if (event.type === "sy.gateway.replicas.scaled") {
      return `${d.role || "stable"}: ${d.from_replicas || 0} → ${d.to_replicas || 0} replicas` +
        (d.reason ? ` (${d.reason})` : "");
    }
    const versions = ["stable", "canary"].filter((k) => d[k] && d[k].model_version)
      .map((k) => `${k} v${d[k].model_version}`).join(", ");
    return [d.reason, versions].filter(Boolean).join(" · ");
  }

  function logEvent(table, event) {
    const row = document.createElement("tr");
    const when = document.createElement("time");
    when.dateTime = event.time;
    when.textContent = new Date(event.time).toLocaleString();
    const cells = [when, event.type.replace("sy.gateway.", ""), describe(event)];
    cells.forEach((content, i) => {
      const td = document.createElement("td");
      td.append(content);
      if (i === 1) td.className = "mono";
      row.appendChild(td);
    });
    table.tBodies[0].prepend(row);
  }

  // The facts and tables above the charts, rendered again by the server.
  async function refreshPanel() {
    const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = html.getElementById("deployment-panel");
    const panel = document.getElementById("deployment-panel");
    if (!fresh || !panel) return;
    panel.replaceWith(fresh);
    if (window.switchyard) window.switchyard.localTimes(fresh);
    fresh.dataset.refreshed = String(Number(panel.dataset.refreshed || 0) + 1);
  }

  function deploymentPage(root) {
    const name = root.dataset.deployment;
    const add = charts(root);
    const log = document.getElementById("rollout-log");
    const badge = document.getElementById("deployment-stream");
    let busy = false, again = false, gone = false;
    root.dataset.samples = "0";
    const sample = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try {
        const response = await fetch(`/ui/api/deployments/${encodeURIComponent(name)}/stats`);
        if (response.ok) {
          add(await response.json());
          root.dataset.samples = String(Number(root.dataset.samples) + 1);
        } else if (response.status === 404) {
          gone = true;
        }
      } catch (e) {
        console.warn(e.message);
      } finally {
        busy = false;
      }
      if (again && !gone) { again = false; sample(); }
    };
    window.switchyard.live("sy.gateway.>", name, (event) => {
      logEvent(log, event);
      if (event.type === "sy.gateway.deployment.deleted") {
        gone = true;
        const state = document.getElementById("deployment-state");
        if (state) { state.textContent = "DELETED"; state.className = "state state-FAILED"; }
        return;
      }
      refreshPanel().catch((e) => console.warn(e.message));
      sample();
    }, (state) => {
      root.dataset.stream = state;
      if (badge) badge.textContent = state;
      // what changed between the render and the stream's opening
      if (state === "live") refreshPanel().catch((e) => console.warn(e.message));
    });
    sample();
    const timer = setInterval(() => {
      if (gone) clearInterval(timer);
      else if (!document.hidden) sample();
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("deployment-charts");
    if (root && window.uPlot && window.switchyard) deploymentPage(root);
  });
})();
