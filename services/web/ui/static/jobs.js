// Jobs, pipelines and studies: what moves on their pages. app.js has the shared
// parts (window.switchyard: live, makeChart, parallel, localTimes, showState) and a job's log.
"use strict";

(function () {
  const FINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

  // ---- a job: app.js appends its log and updates #job-state from the job's events ----
  // Event payloads carry the enum's name (JOB_RUNNING): the badge shows the state
  // (RUNNING) whoever wrote it; a final state takes the cancel button away.
  function jobPage(badge) {
    const settle = () => {
      const name = badge.textContent.trim().replace(/^JOB_(STATE_)?/, "");
      if (name !== badge.textContent) window.switchyard.showState(badge, name);
      if (FINAL.has(name)) {
        document.getElementById("cancel-job")?.remove();
        badge.parentElement.querySelector(".badge")?.remove();  // "cancel requested"
      }
      badge.dataset.state = name;
    };
    new MutationObserver(settle).observe(badge, { childList: true, characterData: true, subtree: true });
    settle();
  }

  // ---- a pipeline: edges from each step to those that need it, behind the steps ----
  const SVG = "http://www.w3.org/2000/svg";

  function drawEdges(dag) {
    dag.querySelector("svg.edges")?.remove();
    const box = dag.getBoundingClientRect();
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "edges");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("width", dag.scrollWidth);
    svg.setAttribute("height", dag.scrollHeight);
    svg.innerHTML = '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" ' +
      'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>';
    let edges = 0;
    for (const step of dag.querySelectorAll("li.step[data-needs]")) {
      const to = step.getBoundingClientRect();
      for (const need of step.dataset.needs.split(" ").filter(Boolean)) {
        const source = dag.querySelector(`li.step[data-step="${CSS.escape(need)}"]`);
        if (!source) continue;
        const from = source.getBoundingClientRect();
        const x1 = from.right - box.left, y1 = from.top + from.height / 2 - box.top;
        const x2 = to.left - box.left, y2 = to.top + to.height / 2 - box.top;
        const bend = Math.max(20, (x2 - x1) / 2);
        const path = document.createElementNS(SVG, "path");
        path.setAttribute("d", `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`);
        path.setAttribute("marker-end", "url(#arrow)");
        path.dataset.from = need;
        path.dataset.to = step.dataset.step;
        svg.appendChild(path);
        edges++;
      }
    }
    dag.prepend(svg);
    dag.dataset.edges = String(edges);
  }

  function pipelinePage() {
    const draw = () => {
      const dag = document.getElementById("dag");
      if (dag) drawEdges(dag);
    };
    draw();
    // a running pipeline's panel is swapped in anew every few seconds (htmx)
    document.body.addEventListener("htmx:afterSwap", () => {
      draw();
      window.switchyard.localTimes(document);
    });
    let pending = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(draw);
    });
  }

  // ---- a study: history charts and parallel coordinates; a running one follows its events ----
  // makeChart names its x-axis "step"; a study's history is by trial number.
  function byTrial(chart) {
    chart.axes[0].label = "trial";
    chart.series[0].label = "trial";
    const legend = chart.root.querySelector(".u-legend .u-series:first-child .u-label");
    if (legend) legend.textContent = "trial";
    chart.redraw(false, true);
    return chart;
  }

  function studyPage(root) {
    const sy = window.switchyard;
    const charts = new Map();  // metric -> uPlot
    const draw = (data) => {
      for (const h of data.histories) {
        const fig = root.querySelector(`#history figure[data-metric="${CSS.escape(h.metric)}"]`);
        if (!fig) continue;
        const series = [h.numbers, h.values, h.best];
        if (charts.has(h.metric)) charts.get(h.metric).setData(series);
        else charts.set(h.metric, byTrial(sy.makeChart(fig.querySelector(".plot"), [h.metric, "best so far"], series)));
        fig.dataset.points = String(h.numbers.length);
      }
      sy.parallel(document.getElementById("parallel"), data.parallel);
    };
    const read = (doc) => JSON.parse(doc.getElementById("study-data").textContent);
    draw(read(document));
    root.dataset.drawn = "true";
    if (root.dataset.live !== "true") return;

    // What changed is read from the page itself, fetched anew: one renderer for every state.
    const status = document.getElementById("study-stream");
    let timer = null, busy = false, again = false, source = null;
    const refresh = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try {
        const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
        if (!response.ok) throw new Error(`study page: HTTP ${response.status}`);
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const id of ["study-summary", "trials-panel"]) {
          const fresh = doc.getElementById(id);
          if (fresh) document.getElementById(id).replaceWith(fresh);
        }
        sy.localTimes(root);
        draw(read(doc));
        const live = doc.getElementById("study").dataset.live === "true";
        root.dataset.live = String(live);
        if (!live && source) { source.close(); if (status) status.textContent = ""; }
      } catch (e) {
        console.warn(e.message);
      } finally {
        busy = false;
        root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
        if (again) { again = false; schedule(); }
      }
    };
    // trials report often: at most one fetch per quarter second
    const schedule = () => { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, 250); };
    source = sy.live("sy.tuner.>", root.dataset.study, schedule, (state) => {
      root.dataset.stream = state;
      if (status) status.textContent = state === "live" ? "· live" : "· " + state;
      if (state === "live") schedule();  // what changed before the stream was open
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.switchyard) return;  // app.js did not load: the pages still read as they are
    const badge = document.getElementById("job-state");
    if (badge) jobPage(badge);
    if (document.getElementById("pipeline-panel")) pipelinePage();
    const study = document.getElementById("study");
    if (study) studyPage(study);
  });
})();
