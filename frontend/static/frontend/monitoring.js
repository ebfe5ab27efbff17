// Monitoring page: uPlot charts fed by the console's JSON endpoint, with ranges and auto-refresh.
(function () {
  "use strict";

  const form = document.getElementById("monitoring");
  if (!form) return;
  const params = new URLSearchParams(location.search);
  let range = params.get("range") || form.querySelector("[data-range].active").dataset.range;
  let timer = null;
  const charts = {};
  const machineSamples = { time: [], byMachine: {} };
  const COLORS = ["#1f6feb", "#2ea043", "#d29922", "#cf222e", "#8250df", "#0a7ea4", "#bf3989"];

  const CALL_CHARTS = {
    qps: [["qps", "calls/s"]],
    codes: [["2xx_per_second", "2xx/s"], ["4xx_per_second", "4xx/s"], ["5xx_per_second", "5xx/s"]],
    ratios: [["2xx_ratio", "2xx %"], ["4xx_ratio", "4xx %"], ["5xx_ratio", "5xx %"]],
    latency: [["latency_avg_ms", "avg"], ["latency_p50_ms", "P50"], ["latency_p90_ms", "P90"], ["latency_p99_ms", "P99"]],
    traffic: [["in_kb_per_second", "in KB/s"], ["out_kb_per_second", "out KB/s"]],
  };
  const MACHINE_CHARTS = { cpu: "cpu_used", memory: "memory_used_mb", gpu: "gpu_utilization" };

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

  function drawMachines(machines, now) {
    machineSamples.time.push(now);
    const names = machines.map((m) => m.machine);
    machines.forEach((m) => {
      const samples = machineSamples.byMachine[m.machine] || (machineSamples.byMachine[m.machine] = {});
      Object.values(MACHINE_CHARTS).forEach((field) => {
        samples[field] = samples[field] || new Array(machineSamples.time.length - 1).fill(null);
        samples[field].push(m[field]);
      });
    });
    Object.entries(machineSamples.byMachine).forEach(([name, samples]) => {
      if (names.includes(name)) return;
      Object.values(samples).forEach((list) => list.push(null));
    });
    Object.entries(MACHINE_CHARTS).forEach(([chart, field]) => {
      const machineNames = Object.keys(machineSamples.byMachine);
      if (!machineNames.length) {
        plotOf(chart).innerHTML = '<div class="no-data">No instance is placed on a machine.</div>';
        return;
      }
      // Samples start when the page opens: the axis still shows the last five minutes.
      const start = machineSamples.time[machineSamples.time.length - 1] - 300;
      const times = [Math.min(start, machineSamples.time[0]), ...machineSamples.time];
      draw(chart, machineNames, [times, ...machineNames.map((name) => [null, ...machineSamples.byMachine[name][field]])], true);
    });
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
    drawMachines(data.machines, data.now);
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
    machineSamples.time.length = 0;
    Object.keys(machineSamples.byMachine).forEach((k) => delete machineSamples.byMachine[k]);
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
