// A sensor's page: the chart (uPlot) of the chosen measure and period, the same values as a table, and new
// readings arriving live from the server-sent events stream (public sensors, or one's own meter).
(function () {
  "use strict";
  var app = document.getElementById("sensor-chart-app");
  if (!app) return;
  var chartElement = document.getElementById("sensor-chart");
  var select = document.getElementById("chart-datastream");
  var summary = document.getElementById("chart-summary");
  var table = document.getElementById("chart-table");
  var liveStatus = document.getElementById("live-status");
  var labels = app.dataset;
  var plot = null;
  var points = [];
  var bucketSeconds = null;
  var source = null;
  var request = 0;

  function span() {
    var checked = app.querySelector("input[name=span]:checked");
    return checked ? checked.value : "day";
  }

  function unit() {
    var option = select.options[select.selectedIndex];
    return option ? option.dataset.unit || "" : "";
  }

  // Times and values as the page's language writes them, in the city's time, as the server wrote them (Babel):
  // "7 déc. 2026, 14:05" and "3,80" on a French page, "7 Dec 2026, 14:05" and "3.80" on an English one.
  var pageLanguage = document.documentElement.lang || "fr";
  var zoneMeta = document.querySelector("meta[name=time-zone]");
  var cityZone = zoneMeta ? zoneMeta.content : "Europe/Paris";
  var timeFormat = new Intl.DateTimeFormat(pageLanguage, { dateStyle: "medium", timeStyle: "short", timeZone: cityZone });
  var valueFormat = new Intl.NumberFormat(pageLanguage, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function formatTime(seconds) { return timeFormat.format(new Date(seconds * 1000)); }

  function formatValue(value) { return valueFormat.format(Number(value)); }

  function renderTable() {
    var option = select.options[select.selectedIndex];
    var periodLabel = app.querySelector("label[for=span-" + span() + "]");
    table.caption.textContent = option.textContent + " · " + (periodLabel ? periodLabel.textContent : "");
    table.tHead.rows[0].cells[1].textContent = labels.labelValue + (bucketSeconds ? " (" + labels.labelMean + ")" : "");
    var body = document.createElement("tbody");
    if (!points.length) {
      var empty = body.insertRow();
      var cell = empty.insertCell();
      cell.colSpan = 2;
      cell.textContent = labels.labelEmpty;
    }
    for (var i = points.length - 1; i >= 0; i--) {
      var row = body.insertRow();
      row.insertCell().textContent = formatTime(points[i][0]);
      row.insertCell().textContent = formatValue(points[i][1]);
    }
    table.replaceChild(body, table.tBodies[0]);
    summary.dataset.points = String(points.length);
    summary.textContent = summary.textContent.replace(/\d+/, String(points.length));
  }

  function chartData() {
    return [points.map(function (p) { return p[0]; }), points.map(function (p) { return p[1]; })];
  }

  function renderChart() {
    var width = Math.max(280, chartElement.clientWidth || app.clientWidth || 600);
    if (plot) plot.destroy();
    plot = new uPlot({
      width: width,
      height: 280,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), cityZone); },
      timeZone: cityZone,
      scales: { x: { time: true } },
      series: [
        { label: labels.labelTime },
        { label: unit() || labels.labelValue, stroke: "#083a73", width: 2, fill: "rgba(91, 143, 209, 0.15)",
          points: { show: points.length < 60 } }
      ],
      axes: [{}, { label: unit() }]
    }, chartData(), chartElement);
    chartElement.dataset.points = String(points.length);
  }

  function load() {
    var mine = ++request;
    var url = "/api/sensing/datastreams/" + select.value + "/series?span=" + span();
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (mine !== request) return;
        points = data.points;
        bucketSeconds = data.bucketSeconds;
        renderChart();
        renderTable();
        connect();
      })
      .catch(function () { summary.textContent = labels.labelEmpty; });
  }

  function addReading(reading) {
    var seconds = Math.floor(Date.parse(reading.time) / 1000);
    if (isNaN(seconds)) return;
    var latest = document.querySelector("[data-datastream='" + select.value + "'] [data-latest-value]");
    if (latest) latest.textContent = formatValue(reading.result);
    var latestTime = document.querySelector("[data-datastream='" + select.value + "'] [data-latest-time]");
    if (latestTime) latestTime.textContent = formatTime(seconds);
    if (bucketSeconds) {
      // Means per bucket: fold the reading into its bucket's mean (counted from the live readings only).
      var start = Math.floor(seconds / bucketSeconds) * bucketSeconds;
      var last = points[points.length - 1];
      if (last && last[0] === start) {
        last[2] = (last[2] || 1) + 1;
        last[1] = last[1] + (reading.result - last[1]) / last[2];
      } else {
        points.push([start, reading.result, 1]);
      }
    } else {
      points.push([seconds, reading.result]);
    }
    plot.setData(chartData());
    chartElement.dataset.points = String(points.length);
    renderTable();
  }

  function connect() {
    if (app.dataset.live !== "true" || !window.EventSource) return;
    if (source && source.datastream === select.value) return;
    if (source) source.close();
    source = new EventSource("/api/sensing/datastreams/" + select.value + "/live");
    source.datastream = select.value;
    source.addEventListener("observation", function (event) {
      addReading(JSON.parse(event.data));
      liveStatus.dataset.received = String(Number(liveStatus.dataset.received || 0) + 1);
    });
    source.addEventListener("open", function () { liveStatus.dataset.connected = "true"; });
  }

  select.addEventListener("change", load);
  app.querySelectorAll("input[name=span]").forEach(function (input) { input.addEventListener("change", load); });
  window.addEventListener("resize", function () {
    if (plot) plot.setSize({ width: Math.max(280, chartElement.clientWidth), height: 280 });
  });
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  load();
})();
