// The early warning's clusters of reports on a reports map: each recent cluster (from /api/alerts/clusters) is a
// circle of its radius around its centre, with its period and observed/expected counts, linked to its alert.
// Loaded deferred, after the map's own script made the map (element.citoyenMap). The note gets data-clusters
// (how many were drawn) once done, which browser tests wait for.
(function () {
  "use strict";
  function draw(note) {
    var element = document.getElementById(note.dataset.clustersFor);
    var map = element && element.citoyenMap;
    if (!map || typeof L === "undefined") { note.dataset.clusters = "none"; return; }
    fetch(note.dataset.clustersUrl, { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("clusters " + response.status);
        return response.json();
      })
      .then(function (collection) {
        collection.features.forEach(function (feature) {
          var props = feature.properties;
          var centre = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
          var circle = L.circle(centre, {
            radius: Math.max(props.radius_m || 0, 60), color: "#d94801", weight: 2, fillOpacity: 0.12
          }).addTo(map);
          var link = document.createElement("a");
          link.href = props.url;
          link.textContent = props.label;
          circle.bindPopup(link);
          circle.bindTooltip(props.label);
        });
        note.dataset.clusters = String(collection.features.length);
      })
      .catch(function () { note.dataset.clusters = "error"; });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-clusters-url]"), draw);
})();
