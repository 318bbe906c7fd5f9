// A map layer that stays fast with many rows (reports, proposals): on every move it asks an API for the view
// (bbox and zoom, with filters). Zoomed out it draws one circle per H3 cell, sized and labelled by its count
// (a click zooms in); zoomed in it draws each row as a point coloured by its status that opens its page.
// `CitoyenCells.layer(map, options)` makes one such layer (the home map has two); the pages' maps are elements
// with `data-map-api`, the filters in `data-api-query`, `data-colours`, `data-status-labels`, `data-link-prefix`,
// and `data-centre` ("lon,lat") to open the map close to one place, where the points show.
(function () {
  "use strict";
  // About the radius of an H3 cell, in metres, at the resolutions the APIs use.
  var cellRadius = { 6: 3200, 8: 460, 10: 66 };

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  // options: api, filters (a query string), colours and labels (per status), pointColour (otherwise), linkPrefix,
  // cellColour, className
  // (added to every point and cell), interactiveCells (false: clicks go through to the shapes below), onDrawn(kind,
  // count). Returns { group, refresh }: the caller refreshes it on the map's moves; it draws only while its group
  // is on the map.
  function layer(map, options) {
    var group = L.layerGroup();
    var colours = options.colours || {};
    var labels = options.labels || {};
    var className = options.className ? " " + options.className : "";
    var cellColour = options.cellColour || "#0b4f9c";
    var latest = 0;

    function drawPoints(points) {
      points.forEach(function (point) {
        var marker = L.circleMarker([point.lat, point.lon], {
          radius: 8, color: "#ffffff", weight: 2, fillColor: colours[point.status] || options.pointColour || "#4a4a55", fillOpacity: 1,
          className: "map-point status-" + point.status + className
        });
        var tip = point.title ? point.title : "#" + point.id;
        if (labels[point.status]) tip += " · " + labels[point.status];
        marker.bindTooltip(tip);
        marker.on("click", function () { window.location.href = point.url || options.linkPrefix + point.id; });
        marker.addTo(group);
      });
    }

    function drawCells(answer) {
      var most = 1;
      answer.cells.forEach(function (cell) { most = Math.max(most, cell.count); });
      var radius = cellRadius[answer.resolution] || 1000;
      var interactive = options.interactiveCells !== false;
      answer.cells.forEach(function (cell) {
        var circle = L.circle([cell.lat, cell.lon], {
          radius: radius * (0.3 + 0.5 * Math.sqrt(cell.count / most)),
          color: cellColour, weight: 1.5, fillColor: cellColour, fillOpacity: 0.35, interactive: interactive,
          className: "map-cell" + className
        });
        circle.bindTooltip(String(cell.count), {
          permanent: true, direction: "center", className: "cell-count" + className, interactive: false
        });
        if (interactive) {
          circle.on("click", function () {
            map.setView([cell.lat, cell.lon], Math.min(Math.floor(map.getZoom()) + 2, 18));
          });
        }
        circle.addTo(group);
      });
    }

    function refresh() {
      if (!map.hasLayer(group)) return;
      var bounds = map.getBounds();
      var bbox = [
        clamp(bounds.getWest(), -180, 180), clamp(bounds.getSouth(), -90, 90),
        clamp(bounds.getEast(), -180, 180), clamp(bounds.getNorth(), -90, 90)
      ].map(function (value) { return value.toFixed(6); }).join(",");
      var url = options.api + "?zoom=" + Math.floor(map.getZoom()) + "&bbox=" + bbox +
        (options.filters ? "&" + options.filters : "");
      var mine = ++latest;
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (mine !== latest) return;  // an answer for a view already left
          group.clearLayers();
          if (answer.kind === "points") drawPoints(answer.points);
          else if (answer.kind === "cells") drawCells(answer);
          if (options.onDrawn) {
            options.onDrawn(answer.kind || "", answer.kind === "points" ? answer.points.length : answer.cells.length);
          }
        });
    }

    return { group: group, refresh: refresh };
  }

  function setUp(element) {
    var base = CitoyenReports.baseMap(element);
    var map = base.map;
    element.citoyenMap = map;  // for layers other pages add (the early warning's clusters, alerts-map.js)
    var drawn = layer(map, {
      api: element.dataset.mapApi,
      filters: element.dataset.apiQuery || "",
      colours: JSON.parse(element.dataset.colours || "{}"),
      labels: JSON.parse(element.dataset.statusLabels || "{}"),
      linkPrefix: element.dataset.linkPrefix || "",
      onDrawn: function (kind, count) {
        element.dataset.kind = kind;
        element.dataset.drawn = String(count);
      }
    });
    drawn.group.addTo(map);

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
      map.on("moveend", drawn.refresh);
      drawn.refresh();
      element.dataset.loaded = "true";
    });
  }

  window.CitoyenCells = { layer: layer };
  Array.prototype.forEach.call(document.querySelectorAll("[data-map-api]"), setUp);
})();
