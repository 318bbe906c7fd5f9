// Flows (mobility): the counters on a map sized by today's flow with the carpool arcs between quartiers, the
// counters' daily totals side by side, and a counter's typical day and year against the year before (uPlot).
// The data comes in <script type="application/json"> elements of the page; the tables beside hold the same
// figures for readers without JavaScript. Each drawn element gets data-ready="1", which browser tests wait for.
(function () {
  "use strict";

  function data(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function width(element) { return Math.max(280, element.clientWidth || 600); }

  function dayStamps(days) {
    return days.map(function (day) { return Date.parse(day + "T12:00:00Z") / 1000; });
  }

  var PALETTE = ["#083a73", "#d94801", "#238b45", "#6a51a3", "#b30000", "#0570b0"];

  function drawMap() {
    var element = document.getElementById("flows-map");
    var flows = data("flows-data");
    if (!element || !flows || typeof L === "undefined") return;
    var map = L.map(element, { scrollWheelZoom: false });
    if (window.CitoyenTiles) window.CitoyenTiles.add(map, element);
    var bounds = [];
    var biggest = Math.max.apply(null, [1].concat(flows.counters.map(function (c) { return c.today; })));
    flows.arcs.forEach(function (arc) {
      var from = [arc.from[1], arc.from[0]], to = [arc.to[1], arc.to[0]];
      var middle = [(from[0] + to[0]) / 2 + (to[1] - from[1]) * 0.15, (from[1] + to[1]) / 2 - (to[0] - from[0]) * 0.15];
      L.polyline([from, middle, to], { color: "#6a51a3", weight: 1 + Math.sqrt(arc.trips), opacity: 0.6 })
        .bindTooltip(arc.label + " : " + arc.trips).addTo(map);
      bounds.push(from, to);
    });
    flows.counters.forEach(function (counter) {
      var point = [counter.lat, counter.lon];
      L.circleMarker(point, { radius: 6 + 24 * Math.sqrt(counter.today / biggest), color: "#d94801", fillOpacity: 0.5 })
        .bindTooltip(counter.name + " : " + Math.round(counter.today))
        .on("click", function () { window.location.href = "/mobility/counters/" + counter.id; })
        .addTo(map);
      bounds.push(point);
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] }); else map.setView([48.8566, 2.3522], 12);
    element.dataset.ready = "1";
  }

  function drawComparison() {
    var element = document.getElementById("comparison-chart");
    var chart = data("comparison-data");
    if (!element || !chart || typeof uPlot === "undefined") return;
    var names = Object.keys(chart).filter(function (key) { return key !== "days"; });
    var series = [{ label: element.dataset.labelDay }];
    var columns = [dayStamps(chart.days)];
    names.forEach(function (name, index) {
      series.push({ label: name, stroke: PALETTE[index % PALETTE.length], width: 2 });
      columns.push(chart[name]);
    });
    new uPlot({ width: width(element), height: 280, scales: { x: { time: true } }, series: series }, columns, element);
    element.dataset.ready = "1";
  }

  function drawProfile() {
    var profile = data("profile-data");
    if (!profile || typeof uPlot === "undefined") return;
    var hours = document.getElementById("profile-chart");
    var labels = hours.dataset;
    new uPlot({
      width: width(hours), height: 260, scales: { x: { time: false } },
      series: [{ label: labels.labelHour }, { label: labels.labelWeekday, stroke: "#083a73", width: 2 },
        { label: labels.labelWeekend, stroke: "#d94801", width: 2 }]
    }, [Array.from({ length: 24 }, function (_, hour) { return hour; }), profile.weekday, profile.weekend], hours);
    hours.dataset.ready = "1";
    var days = document.getElementById("days-chart");
    var dayLabels = days.dataset;
    new uPlot({
      width: width(days), height: 260, scales: { x: { time: true } },
      series: [{ label: dayLabels.labelDay }, { label: dayLabels.labelYear, stroke: "#083a73", width: 1.5 },
        { label: dayLabels.labelBefore, stroke: "#999999", width: 1, dash: [4, 3] }]
    }, [dayStamps(profile.days), profile.totals, profile.before], days);
    days.dataset.ready = "1";
  }

  drawMap();
  drawComparison();
  drawProfile();
})();
