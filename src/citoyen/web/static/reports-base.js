// Shared by the reports maps: a Leaflet map that draws the city's neighbourhoods (no tile server needed;
// the street map of map-tiles.js is drawn under them when its server answers), as in city-map.js.
(function () {
  "use strict";
  var outline = { color: "#083a73", weight: 1, fillColor: "#5b8fd1", fillOpacity: 0.12, interactive: false };

  // Returns { map, ready }: `ready` resolves with the neighbourhoods layer once it is drawn.
  function baseMap(element, options) {
    var map = L.map(element, Object.assign({ zoomSnap: 0.25 }, options || {}));
    CitoyenTiles.add(map, element);
    var ready = fetch("/api/territory/neighbourhoods", { headers: { Accept: "application/geo+json" } })
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        var layer = L.geoJSON(collection, { style: outline, interactive: false }).addTo(map);
        element.dataset.neighbourhoods = String(collection.features.length);
        return layer;
      });
    return { map: map, ready: ready };
  }

  // The view of the whole city (or of Paris when no neighbourhood was imported yet).
  function fitCity(map, layer) {
    if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    else map.setView([48.8566, 2.3522], 12);
  }

  window.CitoyenReports = { baseMap: baseMap, fitCity: fitCity };
})();
