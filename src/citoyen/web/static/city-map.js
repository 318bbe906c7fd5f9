// The home map: draws the city's own neighbourhood layer (no tile server needed; the street map of map-tiles.js
// is drawn under it when its server answers), open reports and proposals over it (cell-map.js) and the sensors.
// Clicking a shape loads its panel with htmx.
(function () {
  "use strict";
  var element = document.getElementById("city-map");
  if (!element) return;
  var map = L.map(element, { zoomSnap: 0.25 });
  CitoyenTiles.add(map, element);
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
      showActivity();
    });

  // Open reports and proposals under way: each a layer of counts per area (points when close) drawn over the
  // neighbourhoods, switched on and off by the checkboxes of #city-layers. Their circles let clicks through to the
  // neighbourhood below; a point opens its page.
  function showActivity() {
    var toggles = document.getElementById("city-layers");
    if (!toggles || !window.CitoyenCells) return;
    toggles.querySelectorAll("input[data-layer]").forEach(function (input) {
      var name = input.dataset.layer;
      var activity = CitoyenCells.layer(map, {
        api: input.dataset.api,
        filters: input.dataset.filters,
        linkPrefix: input.dataset.linkPrefix,
        pointColour: input.dataset.colour,
        cellColour: input.dataset.colour,
        className: "layer-" + name,
        interactiveCells: false,
        onDrawn: function (kind, count) {
          element.dataset[name + "Kind"] = kind;
          element.dataset[name + "Drawn"] = String(count);
        }
      });
      map.on("moveend", activity.refresh);
      function show() {
        if (input.checked) {
          activity.group.addTo(map);
          activity.refresh();
        } else {
          map.removeLayer(activity.group);
          delete element.dataset[name + "Kind"];
          delete element.dataset[name + "Drawn"];
        }
      }
      input.addEventListener("change", show);
      show();
    });
  }

  // The sensors layer: one group per kind, each with its own shape and symbol (not colour alone), switched on and
  // off by the checkboxes of the legend. Personal sensors (a household's meter) are never on the map.
  var sensorsUrl = element.dataset.sensorsUrl;
  var toggles = document.getElementById("sensor-toggles");
  if (!sensorsUrl || !toggles) return;
  var groups = {};
  function iconFor(kind, access) {
    return L.divIcon({
      className: "sensor-marker",
      html: '<span class="sensor-icon sensor-' + kind + (access === "restricted" ? " sensor-restricted" : "") +
        '" aria-hidden="true"></span>',
      iconSize: [28, 28],
      iconAnchor: [14, 14],
      popupAnchor: [0, -14]
    });
  }
  function showGroup(kind, visible) {
    if (!groups[kind]) return;
    if (visible) groups[kind].addTo(map); else map.removeLayer(groups[kind]);
  }
  fetch(sensorsUrl, { headers: { Accept: "application/geo+json" } })
    .then(function (response) { return response.json(); })
    .then(function (collection) {
      var kindLabels = {};
      toggles.querySelectorAll("input[data-kind]").forEach(function (input) {
        kindLabels[input.dataset.kind] = input.dataset.label;
      });
      collection.features.forEach(function (feature) {
        var p = feature.properties;
        var kind = kindLabels[p.kind] ? p.kind : "other";
        if (!groups[kind]) groups[kind] = L.layerGroup();
        var label = (kindLabels[kind] || "") + " : " + p.name;
        var marker = L.marker([feature.geometry.coordinates[1], feature.geometry.coordinates[0]], {
          icon: iconFor(kind, p.access), title: label, alt: label, keyboard: true
        });
        var popup = document.createElement("div");
        var heading = document.createElement("strong");
        heading.textContent = p.name;
        var link = document.createElement("a");
        link.href = p.url;
        link.className = "sensor-link";
        link.textContent = toggles.dataset.openLabel;
        popup.appendChild(heading);
        popup.appendChild(document.createElement("br"));
        popup.appendChild(link);
        marker.bindPopup(popup);
        marker.on("add", function () {
          var icon = marker.getElement();
          if (icon) { icon.setAttribute("data-sensor-id", p.id); icon.setAttribute("data-kind", kind); }
        });
        groups[kind].addLayer(marker);
      });
      toggles.querySelectorAll("input[data-kind]").forEach(function (input) {
        var count = groups[input.dataset.kind] ? groups[input.dataset.kind].getLayers().length : 0;
        var counter = toggles.querySelector("[data-count='" + input.dataset.kind + "']");
        if (counter) counter.textContent = String(count);
        input.disabled = count === 0;
        showGroup(input.dataset.kind, input.checked);
        input.addEventListener("change", function () { showGroup(input.dataset.kind, input.checked); });
      });
      element.dataset.sensorsLoaded = String(collection.features.length);
    });
})();
