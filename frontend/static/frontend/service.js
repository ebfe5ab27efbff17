// Service detail page: the live deployment events (websocket) and instance logs (REST API).
(function () {
  "use strict";

  const log = document.getElementById("events");
  if (log) streamEvents(log, document.getElementById("events-live"));

  // Events arrive as history, then live lines; a line may come twice around the switch, so ids
  // already shown are skipped. The stream reconnects unless the service is gone (close 4404).
  // Parts of the page marked data-refresh are re-read from the server after live events, so the
  // status and counts follow the deployment without a reload.
  let refreshTimer = null;
  function refreshParts() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      document.querySelectorAll("[data-refresh]").forEach((part) => {
        const replacement = fresh.querySelector(`[data-refresh="${part.dataset.refresh}"]`);
        if (replacement) part.replaceWith(document.importNode(replacement, true));
      });
      htmx.process(document.body);
    }, 700);
  }

  function streamEvents(box, indicator) {
    const seen = new Set();
    const rendered = new Date(box.dataset.rendered);
    let retry = 1000;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}${box.dataset.url}`);
      socket.onopen = () => { retry = 1000; indicator.textContent = "live"; indicator.classList.add("on"); };
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (seen.has(event.id)) return;
        seen.add(event.id);
        const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
        const line = document.createElement("div");
        line.className = `lvl-${event.level}`;
        const time = document.createElement("span");
        time.className = "t";
        time.textContent = new Date(event.time).toLocaleTimeString();
        line.append(time, event.line);
        box.append(line);
        if (atBottom) box.scrollTop = box.scrollHeight;
        if (new Date(event.time) > rendered) refreshParts();
      };
      socket.onclose = (close) => {
        indicator.classList.remove("on");
        if (close.code === 4404) {
          indicator.textContent = "service not found";
          return;
        }
        indicator.textContent = "reconnecting…";
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 15000);
      };
    };
    connect();
  }

  // Instance logs come from the REST API (DescribeServiceLog), read with the console session.
  const panel = document.getElementById("log-panel");
  if (!panel) return;
  const lines = document.getElementById("log-lines");
  const title = document.getElementById("log-title");
  let current = null;

  async function load(instance) {
    current = instance;
    panel.hidden = false;
    title.textContent = `Logs of ${instance}`;
    lines.textContent = "Loading…";
    const path = location.pathname.replace(/^\/services\//, "/api/v2/services/").replace(/\/$/, "");
    try {
      const response = await fetch(`${path}/logs?InstanceName=${encodeURIComponent(instance)}&PageSize=500`,
        { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      lines.textContent = response.ok
        ? (body.Logs.length ? body.Logs.join("\n") : "No log lines yet.")
        : `${body.Code}: ${body.Message}`;
      lines.scrollTop = lines.scrollHeight;
    } catch (error) {
      lines.textContent = `Could not load the logs: ${error}`;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-logs]");
    if (button) {
      load(button.dataset.logs);
      panel.scrollIntoView({ behavior: "smooth" });
    }
  });
  document.getElementById("log-refresh").addEventListener("click", () => current && load(current));
})();
