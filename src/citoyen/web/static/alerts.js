// Alerts: an alert's chart (its last days with the usual range, uPlot), a cluster's small map (Leaflet), and the
// 7-day forecasts drawn beside the indicators (the last days, the forecast, its 80 % and 95 % bands). Each element
// gets data-ready once drawn ("drawn", or the forecast's state), which browser tests wait for.
(function () {
  "use strict";
  function seconds(text) { return Date.parse(text + "T00:00:00Z") / 1000; }
  function width(element) { return Math.max(260, element.clientWidth || 600); }
  function utc(ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); }

  function alertChart(element) {
    var points = JSON.parse(element.dataset.points || "[]");
    if (!points.length || typeof uPlot === "undefined") { element.dataset.ready = "empty"; return; }
    var times = points.map(function (p) { return seconds(p[0]); });
    var values = points.map(function (p) { return p[1]; });
    var low = parseFloat(element.dataset.low), high = parseFloat(element.dataset.high);
    var series = [{ label: element.dataset.labelTime }, { label: element.dataset.labelValue, stroke: "#083a73", width: 2 }];
    var data = [times, values];
    if (!isNaN(low) && !isNaN(high)) {
      series.push({ label: element.dataset.labelLow, stroke: "#6b8e23", dash: [5, 4], width: 1 });
      series.push({ label: element.dataset.labelHigh, stroke: "#6b8e23", dash: [5, 4], width: 1 });
      data.push(times.map(function () { return low; }));
      data.push(times.map(function () { return high; }));
    }
    new uPlot({ width: width(element), height: 260, tzDate: utc, scales: { x: { time: true } }, series: series }, data, element);
    element.dataset.ready = "drawn";
  }

  function clusterMap(element) {
    if (typeof L === "undefined") { element.dataset.ready = "empty"; return; }
    var centre = [parseFloat(element.dataset.lat), parseFloat(element.dataset.lon)];
    var radius = Math.max(parseFloat(element.dataset.radius) || 0, 100);
    var map = L.map(element, { scrollWheelZoom: false }).setView(centre, 16);
    if (window.CitoyenTiles) window.CitoyenTiles.add(map, element);
    var circle = L.circle(centre, { radius: radius, color: "#d94801", fillOpacity: 0.2 }).addTo(map);
    map.fitBounds(circle.getBounds(), { padding: [20, 20], maxZoom: 17 });
    element.dataset.ready = "drawn";
  }

  function forecastChart(box) {
    var sentence = box.querySelector(".forecast-sentence");
    var chart = box.querySelector(".forecast-chart");
    fetch(box.dataset.forecastUrl).then(function (response) {
      if (!response.ok) throw new Error("forecast " + response.status);
      return response.json();
    }).then(function (forecast) {
      sentence.textContent = forecast.sentence;
      if (forecast.state !== "forecast" || typeof uPlot === "undefined") { box.dataset.ready = forecast.state; return; }
      var times = [], observed = [], yhat = [], lo80 = [], hi80 = [], lo95 = [], hi95 = [];
      forecast.recent.forEach(function (p) {
        times.push(seconds(p[0])); observed.push(p[1]);
        yhat.push(null); lo80.push(null); hi80.push(null); lo95.push(null); hi95.push(null);
      });
      if (times.length) { var last = times.length - 1; yhat[last] = observed[last]; lo80[last] = hi80[last] = lo95[last] = hi95[last] = observed[last]; }
      forecast.points.forEach(function (p) {
        times.push(seconds(p.day)); observed.push(null);
        yhat.push(p.yhat); lo80.push(p.lo80); hi80.push(p.hi80); lo95.push(p.lo95); hi95.push(p.hi95);
      });
      var labels = box.dataset;
      new uPlot({
        width: width(chart), height: 220, tzDate: utc, scales: { x: { time: true } },
        series: [
          { label: labels.labelTime },
          { label: labels.labelValue, stroke: "#083a73", width: 2 },
          { label: labels.labelForecast, stroke: "#d94801", width: 2, dash: [6, 4] },
          { label: labels.labelBand95, stroke: "rgba(217, 72, 1, 0.25)", width: 1 },
          { label: labels.labelBand95, stroke: "rgba(217, 72, 1, 0.25)", width: 1 },
          { label: labels.labelBand80, stroke: "rgba(217, 72, 1, 0.5)", width: 1 },
          { label: labels.labelBand80, stroke: "rgba(217, 72, 1, 0.5)", width: 1 }
        ],
        bands: [
          { series: [4, 3], fill: "rgba(217, 72, 1, 0.08)" },
          { series: [6, 5], fill: "rgba(217, 72, 1, 0.16)" }
        ]
      }, [times, observed, yhat, lo95, hi95, lo80, hi80], chart);
      box.dataset.ready = "forecast";
    }).catch(function () { box.dataset.ready = "error"; });
  }

  var chart = document.getElementById("alert-chart");
  if (chart) alertChart(chart);
  var map = document.getElementById("alert-map");
  if (map) clusterMap(map);
  Array.prototype.forEach.call(document.querySelectorAll("[data-forecast-url]"), forecastChart);
})();
