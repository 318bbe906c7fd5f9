// A quartier's chart (uPlot): the chosen indicator at the chosen step, drag to zoom, another period (the previous
// one, a year earlier) or the city overlaid, and a CSV file of exactly what the chart shows. The chart's section
// gets data-ready="<indicator>:<step>:<overlay>" once drawn, which browser tests wait for.
(function () {
  "use strict";
  var app = document.getElementById("indicator-chart-app");
  if (!app) return;
  var chartElement = document.getElementById("indicator-chart");
  var indicatorChoice = document.getElementById("chart-indicator");
  var stepChoice = document.getElementById("chart-step");
  var compareChoice = document.getElementById("chart-compare");
  var summary = document.getElementById("chart-summary");
  var csvLink = document.getElementById("chart-csv");
  var labels = app.dataset;
  var plot = null;
  var shown = { times: [], main: [], other: null, unit: "" };
  var request = 0;
  var DAY = 86400;

  function seconds(text) { return Date.parse(text) / 1000; }
  function iso(value) { return new Date(value * 1000).toISOString().replace(".000Z", "Z"); }

  function fetchSeries(indicator, step, from, to, neighbourhood) {
    var query = "step=" + step + (from ? "&from=" + encodeURIComponent(iso(from)) + "&to=" + encodeURIComponent(iso(to)) : "");
    if (neighbourhood) query += "&neighbourhood=" + neighbourhood;
    return fetch("/api/indicators/" + indicator + "/series?" + query).then(function (response) {
      if (!response.ok) throw new Error("series " + response.status);
      return response.json();
    });
  }

  function allowedSteps() {
    var option = indicatorChoice.options[indicatorChoice.selectedIndex];
    var steps = (option.dataset.steps || "day").split(",");
    Array.prototype.forEach.call(stepChoice.options, function (item) { item.disabled = steps.indexOf(item.value) < 0; });
    if (steps.indexOf(stepChoice.value) < 0) stepChoice.value = steps.indexOf("day") >= 0 ? "day" : steps[0];
  }

  function overlayLabel() {
    var option = compareChoice.options[compareChoice.selectedIndex];
    return compareChoice.value === "city" ? labels.labelCity : labels.labelCompare + " (" + option.textContent + ")";
  }

  function draw(unit) {
    var width = Math.max(280, chartElement.clientWidth || app.clientWidth || 600);
    var series = [
      { label: labels.labelTime },
      { label: labels.labelQuartier + (unit ? " (" + unit + ")" : ""), stroke: "#083a73", width: 2, spanGaps: false,
        fill: "rgba(91, 143, 209, 0.15)" }
    ];
    var data = [shown.times, shown.main];
    if (shown.other) {
      series.push({ label: overlayLabel(), stroke: "#d94801", width: 2, dash: [6, 4], spanGaps: false });
      data.push(shown.other);
    }
    if (plot) plot.destroy();
    plot = new uPlot({
      width: width,
      height: 300,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: { x: { time: true } },
      cursor: { drag: { x: true, y: false } },
      series: series,
      axes: [{}, { label: unit }],
      hooks: { setScale: [function (u, key) { if (key === "x") describe(); }] }
    }, data, chartElement);
  }

  function visible() {
    var min = plot && plot.scales.x.min, max = plot && plot.scales.x.max;
    var rows = [];
    for (var i = 0; i < shown.times.length; i++) {
      if (min != null && (shown.times[i] < min || shown.times[i] > max)) continue;
      rows.push(i);
    }
    return rows;
  }

  function describe() {
    var rows = visible();
    var count = rows.filter(function (i) { return shown.main[i] != null; }).length;
    summary.textContent = count ? labels.labelPeriod + " " + iso(shown.times[rows[0]]).slice(0, 16).replace("T", " ") +
      " – " + iso(shown.times[rows[rows.length - 1]]).slice(0, 16).replace("T", " ") : labels.labelEmpty;
    summary.dataset.points = String(count);
    var header = ["start_utc", "value"];
    if (shown.other) header.push(compareChoice.value === "city" ? "city_value" : "compared_value");
    var lines = [header.join(",")];
    rows.forEach(function (i) {
      var line = [iso(shown.times[i]), shown.main[i] == null ? "" : shown.main[i]];
      if (shown.other) line.push(shown.other[i] == null ? "" : shown.other[i]);
      lines.push(line.join(","));
    });
    var blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
    if (csvLink.href && csvLink.href.indexOf("blob:") === 0) URL.revokeObjectURL(csvLink.href);
    csvLink.href = URL.createObjectURL(blob);
    csvLink.download = indicatorChoice.value + "-" + stepChoice.value + ".csv";
    csvLink.dataset.rows = String(rows.length);
  }

  function load() {
    allowedSteps();
    var indicator = indicatorChoice.value, step = stepChoice.value, compare = compareChoice.value;
    var neighbourhood = labels.neighbourhood;
    var mine = ++request;
    delete app.dataset.ready;
    fetchSeries(indicator, step, null, null, neighbourhood).then(function (main) {
      var from = seconds(main.from), to = seconds(main.to);
      var shift = compare === "previous" ? to - from : compare === "year" ? 364 * DAY : 0;
      var other = !compare ? Promise.resolve(null) : compare === "city" ?
        fetchSeries(indicator, step, from, to, null) : fetchSeries(indicator, step, from - shift, to - shift, neighbourhood);
      return other.then(function (second) {
        if (mine !== request) return;
        shown.times = main.points.map(function (p) { return seconds(p.start); });
        shown.main = main.points.map(function (p) { return p.value; });
        shown.other = null;
        if (second) {
          // The compared period is drawn over this one: its points moved forward by the shift.
          var byTime = {};
          second.points.forEach(function (p) { byTime[seconds(p.start) + shift] = p.value; });
          shown.other = shown.times.map(function (t) { return t in byTime ? byTime[t] : null; });
        }
        // The unit as the page's language writes it (the option's), the API's French one otherwise.
        var chosen = indicatorChoice.options[indicatorChoice.selectedIndex];
        draw((chosen && chosen.dataset.unit) || main.unit);
        describe();
        app.dataset.ready = indicator + ":" + step + ":" + (compare || "none");
      });
    }).catch(function () {
      summary.textContent = labels.labelEmpty;
      app.dataset.ready = "error";
    });
  }

  document.getElementById("chart-reset").addEventListener("click", function () {
    if (plot) plot.setScale("x", { min: shown.times[0], max: shown.times[shown.times.length - 1] });
  });
  [indicatorChoice, stepChoice, compareChoice].forEach(function (item) { item.addEventListener("change", load); });
  load();
})();
