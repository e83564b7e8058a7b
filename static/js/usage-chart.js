/* The usage page's stacked daily chart: data from the json_script element (CSP-safe, no inline script);
 * changing the breakdown submits the month form, so the URL stays bookmarkable. */
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
  if (!source || !canvas || typeof window.Chart === "undefined") {
    return;
  }
  var COLORS = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997", "#ffc107", "#0dcaf0", "#6c757d"];
  var chart = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: chart.labels,
      datasets: chart.datasets.map(function (dataset, index) {
        return { label: dataset.label, data: dataset.data, backgroundColor: COLORS[index % COLORS.length] };
      }),
    },
    options: {
      animation: false,
      responsive: true,
      scales: {
        x: { stacked: true },
        y: { stacked: true, title: { display: true, text: chart.unit } },
      },
    },
  });
  canvas.dataset.datasets = String(chart.datasets.length);
})();
