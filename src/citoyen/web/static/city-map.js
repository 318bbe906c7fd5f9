// The home map: draws the city's own neighbourhood layer (no tile server needed); a raster tile
// layer is added only when the city configured one. Clicking a shape loads its panel with htmx.
(function () {
  "use strict";
  var element = document.getElementById("city-map");
  if (!element) return;
  var map = L.map(element, { zoomSnap: 0.25 });
  var tileUrl = element.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  var normal = { color: "#083a73", weight: 1.5, fillColor: "#5b8fd1", fillOpacity: 0.25 };
  var selected = { color: "#a4161a", weight: 3, fillColor: "#f5a300", fillOpacity: 0.45 };
  var current = null;

  function select(layer) {
    if (current) current.setStyle(normal);
    current = layer;
    layer.setStyle(selected);
    layer.bringToFront();
    var id = layer.feature.properties.id;
    htmx.ajax("GET", "/neighbourhoods/" + id + "/panel", { target: "#neighbourhood-panel", swap: "innerHTML" });
  }

  fetch(element.dataset.neighbourhoodsUrl, { headers: { Accept: "application/geo+json" } })
    .then(function (response) { return response.json(); })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        style: normal,
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(feature.properties.name, { sticky: true });
          shape.on("click", function () { select(shape); });
          shape.on("add", function () {
            var path = shape.getElement && shape.getElement();
            if (!path) return;
            path.setAttribute("data-neighbourhood-id", feature.properties.id);
            path.setAttribute("aria-label", feature.properties.name);
            path.setAttribute("role", "button");
            path.setAttribute("tabindex", "0");
            path.addEventListener("keydown", function (event) {
              if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(shape); }
            });
          });
        }
      }).addTo(map);
      if (collection.features.length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
      else map.setView([48.8566, 2.3522], 12);
      element.dataset.loaded = String(collection.features.length);
    });
})();
