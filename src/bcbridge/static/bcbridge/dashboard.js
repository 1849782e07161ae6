/* bcbridge dashboard: draws the charts from the JSON the page carries (#bcbridge-dashboard-data).
 * The page already shows every number; without Chart.js (or JavaScript) only the charts are missing.
 * Sets document.body.dataset.bcbridgeCharts to "drawn" when done (the browser test waits for it). */
(function () {
  "use strict";

  var STATUS_COLORS = {
    succeeded: "#2e9e5b", processed: "#2e9e5b", sent: "#2e9e5b", active: "#2e9e5b",
    running: "#4a90d9", pending: "#4a90d9", received: "#4a90d9", in_flight: "#8e6bd1",
    skipped: "#b0b0b0", cancelled: "#b0b0b0",
    failed: "#d64545", invalid: "#d64545", parked: "#e08a1e", lost: "#e08a1e"
  };
  var PALETTE = ["#417690", "#e08a1e", "#2e9e5b", "#8e6bd1", "#d64545", "#4a90d9"];

  function color(status, n) {
    return STATUS_COLORS[status] || PALETTE[n % PALETTE.length];
  }

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    return new window.Chart(canvas, config);
  }

  function stock(data) {
    // horizontal bars, biggest stock first (at the top)
    chart("chart-stock", {
      type: "bar",
      data: {
        labels: data.top.map(function (i) { return i.number; }),
        datasets: [{ label: "inventory", data: data.top.map(function (i) { return i.inventory; }), backgroundColor: PALETTE[0] }]
      },
      options: {
        indexAxis: "y",
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: function (items) { var i = data.top[items[0].dataIndex]; return i.number + " " + i.display_name + " (" + i.company + ")"; } } }
        }
      }
    });
  }

  function sales(data) {
    chart("chart-sales", {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, n) {
          return { label: (s.currency || "local currency") + " excl. tax", data: s.amount_excluding_tax, backgroundColor: PALETTE[n % PALETTE.length] };
        })
      },
      options: { scales: { y: { beginAtZero: true } } }
    });
  }

  function sync(data) {
    var statuses = {};
    var sets = data.sets.filter(function (s) { return Object.keys(s.runs).length > 0; });  // sets that ran in the window
    var companies = {};
    sets.forEach(function (s) {
      companies[s.company] = true;
      Object.keys(s.runs).forEach(function (k) { statuses[k] = true; });
    });
    var several = Object.keys(companies).length > 1;
    chart("chart-sync", {
      type: "bar",
      data: {
        labels: sets.map(function (s) { return several ? s.entity_set + " · " + s.company : s.entity_set; }),
        datasets: Object.keys(statuses).map(function (status, n) {
          return { label: status, data: sets.map(function (s) { return s.runs[status] || 0; }), backgroundColor: color(status, n) };
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "runs in " + data.hours + " h" } } } }
    });
  }

  function webhooks(data) {
    var deliveries = data.deliveries;
    chart("chart-webhooks", {
      type: "bar",
      data: {
        labels: deliveries.labels.map(function (iso) { return iso.slice(11, 16); }),
        datasets: Object.keys(deliveries.by_hour).map(function (status, n) {
          return { label: status, data: deliveries.by_hour[status], backgroundColor: color(status, n) };
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "deliveries per hour (UTC)" } } } }
    });
  }

  function outbox(data) {
    var statuses = Object.keys(data.by_status);
    chart("chart-outbox", {
      type: "doughnut",
      data: {
        labels: statuses,
        datasets: [{ data: statuses.map(function (s) { return data.by_status[s]; }), backgroundColor: statuses.map(color) }]
      },
      options: { plugins: { legend: { position: "right" } } }
    });
  }

  function draw() {
    var blob = document.getElementById("bcbridge-dashboard-data");
    if (!blob || !window.Chart) { return; }
    var panels = JSON.parse(blob.textContent);
    stock(panels.stock);
    sales(panels.sales);
    sync(panels.sync);
    webhooks(panels.webhooks);
    outbox(panels.outbox);
    document.body.dataset.bcbridgeCharts = "drawn";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
