// Monitoring page: uPlot charts fed by the console's JSON endpoint, with ranges and auto-refresh.
(function () {
  "use strict";

  const form = document.getElementById("monitoring");
  if (!form) return;
  const params = new URLSearchParams(location.search);
  let range = params.get("range") || form.querySelector("[data-range].active").dataset.range;
  let timer = null;
  const charts = {};
  const COLORS = ["#1f6feb", "#2ea043", "#d29922", "#cf222e", "#8250df", "#0a7ea4", "#bf3989"];

  const CALL_CHARTS = {
    qps: [["qps", "calls/s"]],
    codes: [["2xx_per_second", "2xx/s"], ["4xx_per_second", "4xx/s"], ["5xx_per_second", "5xx/s"]],
    ratios: [["2xx_ratio", "2xx %"], ["4xx_ratio", "4xx %"], ["5xx_ratio", "5xx %"]],
    latency: [["latency_avg_ms", "avg"], ["latency_p50_ms", "P50"], ["latency_p90_ms", "P90"], ["latency_p99_ms", "P99"]],
    traffic: [["in_kb_per_second", "in KB/s"], ["out_kb_per_second", "out KB/s"]],
  };
  const USAGE_CHARTS = {
    cpu: [["cpu_cores", "cores"]],
    memory: [["memory_mb", "MB"]],
    gpu: [["gpu_utilization", "GPU %"]],
  };

  function plotOf(name) {
    return document.querySelector(`[data-chart=${name}] .plot`);
  }

  function draw(name, labels, columns, sampled = false) {
    const box = plotOf(name);
    const hasData = columns.slice(1).some((col) => col.some((v) => v !== null && v !== 0));
    box.closest(".chart").dataset.hasData = hasData ? "true" : "false";
    const key = `${name}:${labels.join("|")}`;
    if (charts[name] && charts[name].key === key) {
      charts[name].plot.setData(columns);
      return;
    }
    if (charts[name]) charts[name].plot.destroy();
    box.replaceChildren();
    const options = {
      width: Math.max(300, box.clientWidth),
      height: 200,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { size: 56 }],
      series: [{}, ...labels.map((label, i) => ({
        label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: sampled, points: sampled ? { show: true, size: 5 } : { size: 4 },
      }))],
    };
    charts[name] = { key, plot: new uPlot(options, columns, box) };
  }

  async function refresh() {
    const query = new URLSearchParams({ range, instance: form.elements.instance.value });
    const response = await fetch(`${form.dataset.url}?${query}`, { credentials: "same-origin" });
    if (!response.ok) {
      document.getElementById("mon-updated").textContent = `Could not load metrics (${response.status}).`;
      return;
    }
    const data = await response.json();
    Object.entries(CALL_CHARTS).forEach(([chart, fields]) => {
      draw(chart, fields.map(([, label]) => label), [data.calls.time, ...fields.map(([field]) => data.calls[field])]);
    });
    Object.entries(USAGE_CHARTS).forEach(([chart, fields]) => {
      draw(chart, fields.map(([, label]) => label), [data.usage.time, ...fields.map(([field]) => data.usage[field])], true);
    });
    document.getElementById("mon-updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    form.dataset.loaded = String(Number(form.dataset.loaded || 0) + 1);
  }

  function schedule() {
    clearInterval(timer);
    if (document.getElementById("mon-auto").checked) timer = setInterval(refresh, 10000);
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-range]");
    if (!button) return;
    range = button.dataset.range;
    form.querySelectorAll("[data-range]").forEach((b) => b.classList.toggle("active", b === button));
    history.replaceState(null, "", `?${new URLSearchParams({ range, instance: form.elements.instance.value })}`);
    refresh();
  });
  form.elements.instance.addEventListener("change", () => {
    history.replaceState(null, "", `?${new URLSearchParams({ range, instance: form.elements.instance.value })}`);
    refresh();
  });
  document.getElementById("mon-auto").addEventListener("change", schedule);
  window.addEventListener("resize", () => Object.values(charts).forEach(({ plot }) => {
    plot.setSize({ width: Math.max(300, plot.root.parentElement.clientWidth), height: 200 });
  }));
  form.addEventListener("submit", (event) => event.preventDefault());

  refresh();
  schedule();
})();
