// Switchyard's pages: times in local time, charts (uPlot), live updates (server-sent events).
// No framework and no build: the server renders the pages; this file adds what moves.
"use strict";

(function () {
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
    "#be185d", "#4d7c0f", "#7c3aed", "#b45309"];
  const CHART_POINTS = 1000;
  const STREAM_WAIT_MS = 2000;  // how long a live page waits for its stream before drawing anyway

  // ---- links the mlflow client prints: <uri>/#/experiments/1/runs/<id> ----
  function followHash() {
    const hash = location.hash.replace(/^#/, "");
    const known = /^\/(experiments\/\d+(\/runs\/[0-9a-f]+)?|models\/[^/]+(\/versions\/\d+)?)\/?$/;
    if (known.test(hash)) {
      location.replace(hash.replace(/\/$/, ""));
      return true;
    }
    return false;
  }

  // ---- times: the server writes UTC; a person reads local time ----
  function localTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.title = el.getAttribute("datetime");
        el.textContent = when.toLocaleString();
      }
    }
  }

  // ---- a state badge: <span class="state state-RUNNING">RUNNING</span> ----
  // Events carry the enum's name (JOB_RUNNING, RUN_STATUS_FINISHED): a badge shows the state.
  function showState(badge, state) {
    if (!badge || !state) return;
    const name = state.replace(/^(JOB_(STATE_)?|RUN_STATUS_)/, "");
    badge.textContent = name;
    badge.className = "state state-" + name;
  }

  // ---- live: server-sent events bridged from NATS ----
  // Every event arrives as a plain SSE message (its type is in the JSON), so
  // one listener serves a pattern; EventSource reconnects by itself.
  function live(type, subject, onEvent, onState) {
    const url = "/ui/live?type=" + encodeURIComponent(type) +
      (subject ? "&subject=" + encodeURIComponent(subject) : "");
    const source = new EventSource(url);
    source.onerror = () => onState && onState(source.readyState === 2 ? "closed" : "reconnecting…");
    source.onmessage = (m) => onEvent(JSON.parse(m.data));
    source.addEventListener("missed", (m) => onState && onState(`missed ${m.data} events`));
    source.addEventListener("ready", () => onState && onState("live"));
    window.addEventListener("pagehide", () => source.close());
    return source;
  }

  // ---- charts ----
  function chartWidth(el) {
    return Math.max(240, Math.floor(el.getBoundingClientRect().width) || 480);
  }

  // zoom (optional): {onZoom(min, max), onReset()} — a drag asks for a finer window,
  // a double click goes back to the whole history.
  function makeChart(el, labels, data, zoom) {
    const series = [{ label: "step" }].concat(labels.map((label, i) => ({
      label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
      points: { show: (u) => u.data[0].length <= 60 },  // dots only where lines are few
    })));
    let dragged = false;
    const bind = zoom ? {
      mouseup: (u, targ, handler) => (e) => { dragged = u.select.width > 2; return handler(e); },
      dblclick: (u, targ, handler) => (e) => { zoom.onReset(); return null; },
    } : undefined;
    const chart = new uPlot({
      width: chartWidth(el), height: 220, series,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, {}],
      legend: { show: labels.length > 1 },
      cursor: { drag: { x: true, y: false }, bind },
      hooks: zoom ? { setScale: [(u, key) => {
        if (key === "x" && dragged) {
          dragged = false;
          zoom.onZoom(u.scales.x.min, u.scales.x.max);
        }
      }] } : {},
    }, data, el);
    new ResizeObserver(() => chart.setSize({ width: chartWidth(el), height: 220 })).observe(el);
    return chart;
  }

  async function history(runId, key, points, window) {
    let url = `/ui/api/runs/${encodeURIComponent(runId)}/metrics?key=${encodeURIComponent(key)}&max_points=${points || CHART_POINTS}`;
    if (window) url += `&min_step=${Math.floor(window[0])}&max_step=${Math.ceil(window[1])}`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${key}: HTTP ${response.status}`);
    return response.json();
  }

  function num(v) { return v === "NaN" || v === null ? null : Number(v); }

  // A run's charts: each metric's downsampled history, then its new points as they are logged.
  async function runCharts(root) {
    const runId = root.dataset.run;
    const charts = new Map();  // key -> {chart, xs, ys}
    const figureFor = (key) => {
      let fig = root.querySelector(`figure[data-key="${CSS.escape(key)}"]`);
      if (!fig) {
        root.querySelector("#no-metrics")?.remove();
        fig = document.createElement("figure");
        fig.className = "chart";
        fig.dataset.key = key;
        fig.innerHTML = '<figcaption></figcaption><div class="plot" role="img"></div>';
        fig.querySelector("figcaption").textContent = key;
        fig.querySelector(".plot").setAttribute("aria-label", `chart of ${key} by step`);
        root.appendChild(fig);
      }
      return fig;
    };
    const draw = (key, xs, ys) => {
      const fig = figureFor(key);
      const entry = { xs, ys, zoomed: false };
      const zoom = {
        // the chart holds a downsampled history: a zoomed window is asked for anew
        async onZoom(min, max) {
          const h = await history(runId, key, CHART_POINTS, [min, max]);
          entry.zoomed = true;
          entry.chart.setData([h.steps, h.values.map(num)], false);
          fig.dataset.points = String(h.steps.length);
          fig.dataset.zoomed = "true";
        },
        onReset() {
          entry.zoomed = false;
          entry.chart.setData([entry.xs, entry.ys], true);
          fig.dataset.points = String(entry.xs.length);
          fig.dataset.zoomed = "false";
        },
      };
      entry.chart = makeChart(fig.querySelector(".plot"), [key], [xs, ys], zoom);
      fig.dataset.points = String(xs.length);
      charts.set(key, entry);
      return entry;
    };
    const latest = document.querySelector("#metrics");
    const apply = (event) => {
      for (const s of event.data.series || []) {
        const steps = (s.steps || []).map(Number);
        const values = (s.values || []).map(num);
        const entry = charts.get(s.key) || draw(s.key, [], []);
        for (let i = 0; i < steps.length; i++) {
          // keep the x-axis sorted for uPlot; a point the history already had is skipped
          let at = entry.xs.length;
          while (at > 0 && entry.xs[at - 1] > steps[i]) at--;
          if (at > 0 && entry.xs[at - 1] === steps[i] && entry.ys[at - 1] === values[i]) continue;
          entry.xs.splice(at, 0, steps[i]);
          entry.ys.splice(at, 0, values[i]);
        }
        const fig = figureFor(s.key);
        if (!entry.zoomed) {  // a zoomed chart keeps its window; a reset shows the new points
          entry.chart.setData([entry.xs, entry.ys]);
          fig.dataset.points = String(entry.xs.length);
        }
        const last = values[values.length - 1];
        const caption = fig.querySelector(".latest");
        if (caption && last !== undefined) caption.textContent = String(last);
        const row = latest && latest.querySelector(`tr[data-key="${CSS.escape(s.key)}"] .value`);
        if (row && last !== undefined) row.textContent = String(last);
      }
    };
    // Listen first, then load the histories: what is logged in between is queued and
    // applied after them, so no point falls between the two. The run's status is read
    // once the stream is open too: a run that ended meanwhile does not stay RUNNING.
    let queued = root.dataset.live === "true" ? [] : null;
    if (queued) {
      const badge = document.querySelector("#run-status");
      const setStatus = (status) => showState(badge, status);
      let opened;
      const open = new Promise((resolve) => { opened = resolve; });
      live("sy.tracking.metrics.logged", runId,
        (event) => (queued ? queued.push(event) : apply(event)),
        (state) => { root.dataset.stream = state; if (state === "live") opened(); });
      live("sy.tracking.run.>", runId, (event) => setStatus(event.data.info && event.data.info.status),
        (state) => {
          if (state !== "live") return;
          fetch(`/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`)
            .then((r) => (r.ok ? r.json() : null))
            .then((got) => setStatus(got && got.run.info.status))
            .catch((e) => console.warn(e.message));
        });
      // a stream that cannot open does not keep the charts blank
      await Promise.race([open, new Promise((resolve) => setTimeout(resolve, STREAM_WAIT_MS))]);
    }
    const pending = [];
    for (const fig of root.querySelectorAll("figure.chart")) {
      const key = fig.dataset.key;
      pending.push(history(runId, key).then((h) => draw(key, h.steps, h.values.map(num))));
    }
    await Promise.allSettled(pending);
    if (queued) {
      const waiting = queued;
      queued = null;
      waiting.forEach(apply);
    }
    root.dataset.loaded = "true";
  }

  // Runs side by side: one chart per metric with a line per run, and parallel coordinates.
  async function compareCharts(root) {
    const data = JSON.parse(document.getElementById("compare-data").textContent);
    for (const fig of root.querySelectorAll("figure.chart")) {
      const key = fig.dataset.key;
      const got = await Promise.all(data.runs.map((r) => history(r.id, key).catch(() => null)));
      const steps = [...new Set(got.flatMap((h) => (h ? h.steps : [])))].sort((a, b) => a - b);
      const index = new Map(steps.map((s, i) => [s, i]));
      const lines = got.map((h) => {
        const ys = new Array(steps.length).fill(null);
        if (h) h.steps.forEach((s, i) => { ys[index.get(s)] = num(h.values[i]); });
        return ys;
      });
      makeChart(fig.querySelector(".plot"), data.runs.map((r) => r.name), [steps, ...lines]);
      fig.dataset.points = String(steps.length);
    }
    parallel(document.getElementById("parallel"), data);
  }

  // Parallel coordinates as SVG: an axis per param and metric, a line per run.
  function parallel(el, data) {
    if (!el) return;
    const axes = data.params.map((k) => ({ key: k, get: (r) => r.params[k] }))
      .concat(data.metrics.map((k) => ({ key: k, get: (r) => r.metrics[k] })));
    if (!axes.length) { el.textContent = "No params or metrics to compare."; return; }
    const width = Math.max(320, el.getBoundingClientRect().width || 640), height = 260, pad = 30;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", "100%");
    const x = (i) => pad + (axes.length === 1 ? 0 : i * (width - 2 * pad) / (axes.length - 1));
    const scales = axes.map((a) => {
      const values = data.runs.map(a.get).filter((v) => v !== undefined && v !== "");
      const numeric = values.every((v) => !isNaN(Number(v)));
      if (numeric) {
        const ns_ = values.map(Number), lo = Math.min(...ns_), hi = Math.max(...ns_);
        return (v) => height - pad - (hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)) * (height - 2 * pad);
      }
      const cats = [...new Set(values.map(String))].sort();
      return (v) => height - pad - (cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)) * (height - 2 * pad);
    });
    axes.forEach((a, i) => {
      const line = document.createElementNS(ns, "line");
      line.setAttribute("x1", x(i)); line.setAttribute("x2", x(i));
      line.setAttribute("y1", pad); line.setAttribute("y2", height - pad);
      line.setAttribute("class", "axis");
      svg.appendChild(line);
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", x(i)); label.setAttribute("y", 14);
      label.setAttribute("text-anchor", "middle");
      label.textContent = a.key;
      svg.appendChild(label);
    });
    data.runs.forEach((r, n) => {
      const points = axes.map((a, i) => [x(i), a.get(r) === undefined ? null : scales[i](a.get(r))])
        .filter((p) => p[1] !== null);
      const path = document.createElementNS(ns, "polyline");
      path.setAttribute("points", points.map((p) => p.join(",")).join(" "));
      path.setAttribute("stroke", COLORS[n % COLORS.length]);
      path.setAttribute("class", "run-line");
      const title = document.createElementNS(ns, "title");
      title.textContent = r.name;
      path.appendChild(title);
      svg.appendChild(path);
    });
    el.replaceChildren(svg);
  }

  // The events tail: newest first, at most MAX rows.
  function eventsTail(table) {
    const MAX = 500;
    const body = table.querySelector("tbody");
    const state = document.getElementById("tail-state");
    live(table.dataset.type || "sy.>", "", (event) => {
      const row = document.createElement("tr");
      const cells = [new Date(event.time).toLocaleTimeString(), event.type, event.subject,
        JSON.stringify(event.data)];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = i === 3 && text.length > 300 ? text.slice(0, 299) + "…" : text;
        if (i > 0) td.className = "mono";
        row.appendChild(td);
      });
      body.prepend(row);
      while (body.rows.length > MAX) body.deleteRow(-1);
    }, (s) => { if (state) state.textContent = s; });
  }

  // A job's page follows it until it ends: new log lines and state changes arrive as
  // events of one stream. The stream opens first; then what was printed since the page
  // was rendered, and the job's state now, are fetched, and the events queued meanwhile
  // follow, less the lines the fetch had. A stream that reconnects catches up again.
  function jobLog(pre) {
    const follow = () => { pre.scrollTop = pre.scrollHeight; };
    const show = (text) => {
      const near = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
      pre.append(text);
      if (near) follow();
    };
    const setState = (state) => showState(document.getElementById("job-state"), state);
    follow();
    if (pre.dataset.live !== "true") return;
    let queued = [];
    let shown = 0;  // characters shown from events since the piece data-seq names
    const catchUp = async () => {
      const url = `/ui/api/jobs/${encodeURIComponent(pre.dataset.job)}/logs?after_seq=${pre.dataset.seq || 0}`;
      const response = await fetch(url);
      if (!response.ok) throw new Error(`job catch-up: HTTP ${response.status}`);
      const now = await response.json();
      const gap = now.text || "";
      show(gap.slice(shown));  // after a reconnect, the part events had shown is not shown again
      if (now.last_seq) pre.dataset.seq = String(now.last_seq);
      setState(now.state);
      let cursor = shown;
      shown = 0;
      for (const event of queued) {  // a line the fetch had is not shown twice
        if (event.type !== "sy.scheduler.job.log") { setState(event.data.job && event.data.job.state); continue; }
        const text = event.data.text || "";
        const at = gap.indexOf(text, cursor);
        if (at >= 0) cursor = at + text.length; else { show(text); shown += text.length; }
      }
      queued = null;
      pre.dataset.stream = "live";
    };
    live("sy.scheduler.job.>", pre.dataset.job, (event) => {
      if (queued) queued.push(event);
      else if (event.type === "sy.scheduler.job.log") { show(event.data.text || ""); shown += (event.data.text || "").length; }
      else setState(event.data.job && event.data.job.state);
    }, (state) => {
      if (state === "live" && queued) catchUp().catch((e) => { console.warn(e.message); pre.dataset.stream = "behind"; });
      else if (state !== "live") { pre.dataset.stream = state; if (!queued) queued = []; }
    });
  }

  function init(root) {
    localTimes(root);
    const charts = root.querySelector("#charts[data-run]");
    if (charts) runCharts(charts).catch((e) => console.warn(e.message));
    const compare = root.querySelector("#charts.compare");
    if (compare) compareCharts(compare).catch((e) => console.warn(e.message));
    const tail = root.querySelector("table#events");
    if (tail) eventsTail(tail);
    const log = root.querySelector("pre#job-log");
    if (log) jobLog(log);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (followHash()) return;
    const index = document.getElementById("index");
    if (index) { location.replace(index.dataset.redirect); return; }
    init(document);
    // htmx swaps (a filtered or re-sorted runs table) bring new <time>s
    document.body.addEventListener("htmx:afterSwap", (e) => localTimes(e.detail.target.parentNode || document));
  });
  window.addEventListener("hashchange", followHash);
  window.switchyard = { live, history, makeChart, parallel, localTimes, showState };
})();
