// A map layer that stays fast with many rows (reports, proposals): on every move it asks the element's
// `data-map-api` for the view (bbox and zoom, with the page's filters in `data-api-query`). Zoomed out
// it draws one circle per H3 cell, sized and labelled by its count (a click zooms in); zoomed in it
// draws each row as a point coloured by its status (`data-colours`) that opens its page. `data-centre`
// ("lon,lat") opens the map close to one place, where the points show.
(function () {
  "use strict";
  var elements = document.querySelectorAll("[data-map-api]");
  // About the radius of an H3 cell, in metres, at the resolutions the APIs use.
  var cellRadius = { 6: 3200, 8: 460, 10: 66 };

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function setUp(element) {
    var base = CitoyenReports.baseMap(element);
    var map = base.map;
    var drawn = L.layerGroup().addTo(map);
    var api = element.dataset.mapApi;
    var filters = element.dataset.apiQuery || "";
    var colours = JSON.parse(element.dataset.colours || "{}");
    var labels = JSON.parse(element.dataset.statusLabels || "{}");
    var linkPrefix = element.dataset.linkPrefix || "";
    var latest = 0;

    function drawPoints(points) {
      points.forEach(function (point) {
        var marker = L.circleMarker([point.lat, point.lon], {
          radius: 8, color: "#ffffff", weight: 2, fillColor: colours[point.status] || "#4a4a55", fillOpacity: 1,
          className: "map-point status-" + point.status
        });
        var tip = point.title ? point.title : "#" + point.id;
        if (labels[point.status]) tip += " · " + labels[point.status];
        marker.bindTooltip(tip);
        marker.on("click", function () { window.location.href = point.url || linkPrefix + point.id; });
        marker.addTo(drawn);
      });
    }

    function drawCells(layer) {
      var most = 1;
      layer.cells.forEach(function (cell) { most = Math.max(most, cell.count); });
      var radius = cellRadius[layer.resolution] || 1000;
      layer.cells.forEach(function (cell) {
        var circle = L.circle([cell.lat, cell.lon], {
          radius: radius * (0.3 + 0.5 * Math.sqrt(cell.count / most)),
          color: "#083a73", weight: 1.5, fillColor: "#0b4f9c", fillOpacity: 0.35
        });
        circle.bindTooltip(String(cell.count), { permanent: true, direction: "center", className: "cell-count" });
        circle.on("click", function () { map.setView([cell.lat, cell.lon], Math.min(Math.floor(map.getZoom()) + 2, 18)); });
        circle.addTo(drawn);
      });
    }

    function refresh() {
      var bounds = map.getBounds();
      var bbox = [
        clamp(bounds.getWest(), -180, 180), clamp(bounds.getSouth(), -90, 90),
        clamp(bounds.getEast(), -180, 180), clamp(bounds.getNorth(), -90, 90)
      ].map(function (value) { return value.toFixed(6); }).join(",");
      var url = api + "?zoom=" + Math.floor(map.getZoom()) + "&bbox=" + bbox + (filters ? "&" + filters : "");
      var mine = ++latest;
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (layer) {
          if (mine !== latest) return;  // an answer for a view already left
          drawn.clearLayers();
          if (layer.kind === "points") drawPoints(layer.points);
          else if (layer.kind === "cells") drawCells(layer);
          element.dataset.kind = layer.kind || "";
          element.dataset.drawn = String(layer.kind === "points" ? layer.points.length : layer.cells.length);
        });
    }

    base.ready.then(function (neighbourhoods) {
      var chosen = element.dataset.neighbourhood;
      var focus = null;
      if (chosen) {
        neighbourhoods.eachLayer(function (shape) {
          if (String(shape.feature.properties.id) === chosen) focus = shape;
        });
      }
      var centre = (element.dataset.centre || "").split(",").map(Number);
      if (centre.length === 2 && centre.every(isFinite)) map.setView([centre[1], centre[0]], 17);
      else if (focus) map.fitBounds(focus.getBounds(), { padding: [10, 10] });
      else CitoyenReports.fitCity(map, neighbourhoods);
      map.on("moveend", refresh);
      refresh();
      element.dataset.loaded = "true";
    });
  }

  Array.prototype.forEach.call(elements, setUp);
})();
