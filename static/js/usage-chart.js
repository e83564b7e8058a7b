/* The usage page's stacked daily chart: data from the json_script element (CSP-safe, no inline script);
 * changing the breakdown submits the month form, so the URL stays bookmarkable.
 *
 * The x axis is a time axis drawn by the zone-aware adapter (static/js/chart-time-zone.js), like the VM
 * metric charts: each bar stands at the middle of its day (a day of the partner's zone, the one usage
 * is counted in), and its label ("2 Dec") and tooltip are written in the person's zone, given as the
 * section's data-time-zone. Colours are the theme's, read again when it changes (static/js/theme.js).
 */
(function () {
  "use strict";

  var select = document.querySelector("[data-usage-breakdown]");
  if (select && select.form) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  }
  var source = document.getElementById("usage-chart-data");
  var canvas = document.getElementById("usage-chart");
  var section = document.getElementById("usage-chart-section");
  if (!source || !canvas || !section || typeof window.Chart === "undefined") {
    return;
  }
  var COLOR_VARIABLES = [
    "--bs-primary", "--bs-orange", "--bs-success", "--bs-purple", "--bs-pink",
    "--bs-teal", "--bs-yellow", "--bs-cyan", "--bs-gray",
  ];
  // Bootstrap's light values, for a variable the theme does not define.
  var FALLBACK = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997", "#ffc107", "#0dcaf0", "#6c757d"];
  var colors = [];
  function readThemeColors() {
    var style = window.getComputedStyle(document.documentElement);
    colors = COLOR_VARIABLES.map(function (name, index) {
      return style.getPropertyValue(name).trim() || FALLBACK[index];
    });
    window.Chart.defaults.color = style.getPropertyValue("--bs-secondary-color").trim();
    window.Chart.defaults.borderColor = style.getPropertyValue("--bs-border-color-translucent").trim();
  }
  readThemeColors();

  var TIME_ZONE = section.dataset.timeZone || "UTC";
  var DAY = 86400000;
  var chart = JSON.parse(source.textContent);
  var xs = chart.x || [];
  // Half a day either side of the first and last bars, so both are whole.
  var bounds = xs.length ? { min: xs[0] - DAY / 2, max: xs[xs.length - 1] + DAY / 2 } : {};
  var drawn = new window.Chart(canvas, {
    type: "bar",
    data: {
      datasets: chart.datasets.map(function (dataset, index) {
        return {
          label: dataset.label,
          data: dataset.data.map(function (value, day) { return { x: xs[day], y: value }; }),
          backgroundColor: colors[index % colors.length],
        };
      }),
    },
    options: {
      animation: false,
      responsive: true,
      // The box's height (static/css/portal.css), not the width's aspect ratio: readable on a phone too.
      maintainAspectRatio: false,
      scales: {
        x: {
          type: "time",
          stacked: true,
          min: bounds.min,
          max: bounds.max,
          adapters: { date: { timeZone: TIME_ZONE } },
          time: { unit: "day", tooltipFormat: "day" },
          ticks: { source: "data", autoSkip: true, maxRotation: 0 },
          grid: { offset: false },
        },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: chart.unit } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: function (item) {
              return item.dataset.label + ": " + item.parsed.y.toLocaleString("en-US") + " " + chart.unit;
            },
          },
        },
      },
    },
  });
  canvas.dataset.datasets = String(chart.datasets.length);

  document.addEventListener("portal:theme", function () {
    readThemeColors();
    drawn.data.datasets.forEach(function (dataset, index) {
      dataset.backgroundColor = colors[index % colors.length];
    });
    ["x", "y"].forEach(function (axis) {
      drawn.options.scales[axis].ticks.color = window.Chart.defaults.color;
      drawn.options.scales[axis].grid.color = window.Chart.defaults.borderColor;
    });
    drawn.options.scales.y.title.color = window.Chart.defaults.color;
    drawn.options.plugins.legend.labels.color = window.Chart.defaults.color;
    drawn.update("none");
  });
})();
