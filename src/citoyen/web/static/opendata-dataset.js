// A dataset's page of the open-data catalogue: the map of its spatial coverage, and its resources' previews
// (places on a map, a time series on a chart). Everything drawn comes from the page itself and from the
// platform (the neighbourhoods as background): no other site is needed (the street map of map-tiles.js is an extra). Each drawing marks its
// element with data-ready="true" when done.
(function () {
  "use strict";
  var outline = { color: "#083a73", weight: 1, fillColor: "#5b8fd1", fillOpacity: 0.08, interactive: false };
  var neighbourhoods = null;

  function loadNeighbourhoods() {
    if (!neighbourhoods) {
      neighbourhoods = fetch("/api/territory/neighbourhoods", { headers: { Accept: "application/geo+json" } })
        .then(function (response) { return response.ok ? response.json() : { features: [] }; })
        .catch(function () { return { features: [] }; });
    }
    return neighbourhoods;
  }

  function baseMap(element) {
    var map = L.map(element, { zoomSnap: 0.25, scrollWheelZoom: false });
    CitoyenTiles.add(map, element);
    return map;
  }

  function fit(map, layer, fallback) {
    var bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
    else if (fallback && fallback.getBounds().isValid()) map.fitBounds(fallback.getBounds());
    else map.setView([48.8566, 2.3522], 11);
  }

  function text(value) { return document.createTextNode(value == null ? "" : String(value)); }

  function popup(properties) {
    var list = document.createElement("dl");
    list.className = "preview-popup";
    Object.keys(properties || {}).slice(0, 12).forEach(function (key) {
      var term = document.createElement("dt");
      term.appendChild(text(key));
      var value = document.createElement("dd");
      value.appendChild(text(properties[key]));
      list.appendChild(term);
      list.appendChild(value);
    });
    return list;
  }

  function drawExtent(element) {
    var map = baseMap(element);
    var extent = L.geoJSON(JSON.parse(element.dataset.extent), {
      style: { color: "#a4161a", weight: 2, fillColor: "#f5a300", fillOpacity: 0.15, interactive: false }
    });
    loadNeighbourhoods().then(function (collection) {
      var background = L.geoJSON(collection, { style: outline, interactive: false }).addTo(map);
      extent.addTo(map);
      fit(map, extent, background);
      element.dataset.ready = "true";
    });
  }

  function drawPlaces(element) {
    var map = baseMap(element);
    var collection = JSON.parse(element.dataset.geojson);
    var places = L.geoJSON(collection, {
      style: { color: "#a4161a", weight: 2, fillColor: "#f5a300", fillOpacity: 0.3 },
      pointToLayer: function (_feature, latlng) {
        return L.circleMarker(latlng, { radius: 6, color: "#a4161a", weight: 2, fillColor: "#f5a300", fillOpacity: 0.9 });
      },
      onEachFeature: function (feature, layer) {
        if (feature.properties && Object.keys(feature.properties).length) layer.bindPopup(popup(feature.properties));
      }
    });
    loadNeighbourhoods().then(function (background) {
      var outlines = L.geoJSON(background, { style: outline, interactive: false }).addTo(map);
      places.addTo(map);
      fit(map, places, outlines);
      element.dataset.features = String(collection.features.length);
      element.dataset.ready = "true";
    });
  }

  function drawChart(element) {
    var series = JSON.parse(element.dataset.series);
    var width = Math.max(280, element.clientWidth || 600);
    new uPlot({
      width: width,
      height: 260,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: { x: { time: true } },
      series: [
        { label: element.dataset.timeLabel },
        { label: element.dataset.valueLabel, stroke: "#083a73", width: 2, fill: "rgba(91, 143, 209, 0.15)",
          points: { show: series[0].length < 60 } }
      ]
    }, series, element);
    element.dataset.points = String(series[0].length);
    element.dataset.ready = "true";
  }

  var extent = document.getElementById("dataset-extent");
  if (extent) drawExtent(extent);
  Array.prototype.forEach.call(document.querySelectorAll(".preview-map"), drawPlaces);
  Array.prototype.forEach.call(document.querySelectorAll(".preview-chart"), drawChart);
})();
