/* VM metric charts: reads its configuration from data- attributes (no inline script, CSP-safe).
 *
 * <section id="vm-metrics" data-metrics-url="..." data-range="1h" data-aggregate="avg"> holds
 * range buttons (data-range), aggregate buttons (data-aggregate), a status line (data-chart-status)
 * and one <canvas data-chart="cpu|memory|disk|network"> per chart. The JSON endpoint answers
 * {charts: [{key, title, unit, empty, datasets: [{label, data: [{x: ms, y}]}]}], empty} or {error}.
 */
(function () {
  "use strict";

  var section = document.getElementById("vm-metrics");
  if (!section || typeof window.Chart === "undefined") {
    return;
  }
  // The theme's colours (Bootstrap's CSS variables), read again when the theme changes (static/js/theme.js).
  var COLOR_VARIABLES = ["--bs-primary", "--bs-orange", "--bs-success", "--bs-purple"];
  var COLORS = [];
  function readThemeColors() {
    var style = window.getComputedStyle(document.documentElement);
    COLORS = COLOR_VARIABLES.map(function (name) { return style.getPropertyValue(name).trim(); });
    window.Chart.defaults.color = style.getPropertyValue("--bs-secondary-color").trim();
    window.Chart.defaults.borderColor = style.getPropertyValue("--bs-border-color-translucent").trim();
  }
  readThemeColors();
  var UNITS = { "1h": "minute", "6h": "hour", "24h": "hour", "7d": "day", "30d": "day" };
  // Ticks and tooltips in the person's zone (static/js/chart-time-zone.js), 24-hour, whatever the locale.
  var TIME_ZONE = section.dataset.timeZone || "UTC";
  var status = section.querySelector("[data-chart-status]");
  var charts = {};
  var state = { range: section.dataset.range || "1h", aggregate: section.dataset.aggregate || "avg" };
  var pending = null;

  function say(text, kind) {
    status.textContent = text;
    status.className = "small mb-2 " + (kind === "error" ? "text-danger" : "text-body-secondary");
    section.dataset.chartState = kind;
  }

  function pressed(attribute, value) {
    section.querySelectorAll("[data-" + attribute + "]").forEach(function (button) {
      if (button.tagName !== "BUTTON") {
        return;
      }
      var on = button.dataset[attribute] === value;
      button.classList.toggle("active", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  function draw(chart) {
    var canvas = section.querySelector('canvas[data-chart="' + chart.key + '"]');
    if (!canvas) {
      return;
    }
    var datasets = chart.datasets.map(function (dataset, index) {
      return {
        label: dataset.label + (chart.unit ? " (" + chart.unit + ")" : ""),
        data: dataset.data,
        borderColor: COLORS[index % COLORS.length],
        backgroundColor: COLORS[index % COLORS.length],
        borderWidth: 1.5,
        pointRadius: 0,
        tension: 0.2,
      };
    });
    var points = chart.datasets.reduce(function (sum, dataset) { return sum + dataset.data.length; }, 0);
    canvas.dataset.points = String(points);
    canvas.dataset.empty = chart.empty ? "true" : "false";
    if (charts[chart.key]) {
      charts[chart.key].data.datasets = datasets;
      charts[chart.key].options.scales.x.time.unit = UNITS[state.range];
      charts[chart.key].update("none");
      return;
    }
    charts[chart.key] = new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        maintainAspectRatio: true,
        aspectRatio: 2,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: chart.datasets.length > 1 } },
        scales: {
          x: {
            type: "time",
            adapters: { date: { timeZone: TIME_ZONE } },
            time: { unit: UNITS[state.range], tooltipFormat: "datetime" },
            title: { display: true, text: TIME_ZONE.replace(/_/g, " ") },
          },
          y: { beginAtZero: true, title: { display: Boolean(chart.unit), text: chart.unit } },
        },
      },
    });
  }

  function load() {
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    var url = section.dataset.metricsUrl + "?range=" + encodeURIComponent(state.range) +
      "&aggregate=" + encodeURIComponent(state.aggregate);
    say("Loading metrics…", "loading");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: pending.signal })
      .then(function (response) {
        return response.json().catch(function () { return { error: "Metrics are unavailable." }; })
          .then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok || result.body.error) {
          say(result.body.error || "Metrics are unavailable.", "error");
          return;
        }
        result.body.charts.forEach(draw);
        if (result.body.empty) {
          say("No data for this range yet.", "empty");
        } else {
          say("Last " + state.range + ", " + (state.aggregate === "max" ? "maximum" : "average") +
            " per " + result.body.interval + ".", "ready");
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          say("Metrics are unavailable: the portal did not answer.", "error");
        }
      });
  }

  // The range and aggregate live in the URL (?range=7d&aggregate=max): a bookmark or a shared link
  // opens the same charts, and Back returns to the previous choice.
  function toUrl() {
    var url = new URL(window.location.href);
    [["range", section.dataset.defaultRange], ["aggregate", section.dataset.defaultAggregate]].forEach(
      function (pair) {
        if (state[pair[0]] === pair[1]) {
          url.searchParams.delete(pair[0]);
        } else {
          url.searchParams.set(pair[0], state[pair[0]]);
        }
      });
    return url.pathname + url.search + url.hash;
  }

  function show() {
    pressed("range", state.range);
    pressed("aggregate", state.aggregate);
    load();
  }

  section.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !section.contains(button)) {
      return;
    }
    if (button.dataset.range) {
      state.range = button.dataset.range;
    } else if (button.dataset.aggregate) {
      state.aggregate = button.dataset.aggregate;
    } else {
      return;
    }
    window.history.pushState({ charts: { range: state.range, aggregate: state.aggregate } }, "", toUrl());
    show();
  });

  window.addEventListener("popstate", function (event) {
    var params = new URLSearchParams(window.location.search);
    var chosen = (event.state && event.state.charts) || {
      range: params.get("range") || section.dataset.defaultRange,
      aggregate: params.get("aggregate") || section.dataset.defaultAggregate,
    };
    state.range = chosen.range;
    state.aggregate = chosen.aggregate;
    show();
  });

  document.addEventListener("portal:theme", function () {
    readThemeColors();
    Object.keys(charts).forEach(function (key) {
      var chart = charts[key];
      chart.data.datasets.forEach(function (dataset, index) {
        dataset.borderColor = COLORS[index % COLORS.length];
        dataset.backgroundColor = COLORS[index % COLORS.length];
      });
      ["x", "y"].forEach(function (axis) {
        chart.options.scales[axis].ticks.color = window.Chart.defaults.color;
        chart.options.scales[axis].grid.color = window.Chart.defaults.borderColor;
      });
      chart.options.scales.y.title.color = window.Chart.defaults.color;
      chart.options.plugins.legend.labels.color = window.Chart.defaults.color;
      chart.update("none");
    });
  });

  load();
})();
