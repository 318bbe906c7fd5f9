// A report's page: a small map with its pin over the city's neighbourhoods.
(function () {
  "use strict";
  var element = document.getElementById("report-pin-map");
  if (!element) return;
  var latlng = L.latLng(parseFloat(element.dataset.lat), parseFloat(element.dataset.lon));
  var base = CitoyenReports.baseMap(element, { scrollWheelZoom: false });
  base.map.setView(latlng, 16);
  L.circleMarker(latlng, {
    radius: 10, color: "#a4161a", weight: 4, fillColor: "#f5a300", fillOpacity: 0.9, interactive: false
  }).addTo(base.map);
  base.ready.then(function () { element.dataset.loaded = "true"; });
})();
