// The indicators page's map: the quartiers coloured by the chosen indicator's value over its latest week (five
// classes between the lowest and the highest value, grey without data); a click opens the quartier's page.
(function () {
  "use strict";
  var element = document.getElementById("indicator-map");
  if (!element) return;
  var choice = document.getElementById("map-indicator");
  var values = JSON.parse(element.dataset.values || "{}");
  var colours = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  var map = L.map(element, { zoomSnap: 0.25 });
  var tileUrl = element.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  var layer = null;

  function classes(indicator) {
    var found = values[indicator] || {};
    var list = Object.keys(found).map(function (key) { return found[key]; });
    var low = Math.min.apply(null, list), high = Math.max.apply(null, list);
    return function (id) {
      var value = found[id];
      if (value === undefined) return null;
      if (high === low) return colours[2];
      return colours[Math.min(4, Math.floor((value - low) / (high - low) * 5))];
    };
  }

  function format(value) {
    return value === undefined ? element.dataset.labelNoData :
      Number(value).toLocaleString(document.documentElement.lang || "fr", { maximumFractionDigits: 1 });
  }

  function paint() {
    if (!layer) return;
    var indicator = choice.value;
    var colourOf = classes(indicator);
    layer.eachLayer(function (shape) {
      var id = shape.feature.properties.id;
      var colour = colourOf(id);
      shape.setStyle({ color: "#444", weight: 1, fillColor: colour || "#bbbbbb", fillOpacity: colour ? 0.75 : 0.3 });
      shape.setTooltipContent(shape.feature.properties.name + " · " + format((values[indicator] || {})[id]));
    });
    element.dataset.indicator = indicator;
  }

  fetch(element.dataset.neighbourhoodsUrl, { headers: { Accept: "application/geo+json" } })
    .then(function (response) { return response.json(); })
    .then(function (collection) {
      layer = L.geoJSON(collection, {
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(feature.properties.name, { sticky: true });
          shape.on("click", function () { window.location.href = "/indicators/quartiers/" + feature.properties.id; });
          shape.on("add", function () {
            var path = shape.getElement && shape.getElement();
            if (path) path.setAttribute("data-neighbourhood-id", feature.properties.id);
          });
        }
      }).addTo(map);
      if (collection.features.length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
      else map.setView([48.8566, 2.3522], 12);
      paint();
      element.dataset.ready = String(collection.features.length);
    });
  choice.addEventListener("change", paint);
})();
