// The city's projects: the map of /projects (lines, areas and points coloured by phase, loaded for the view's box
// from /api/projects; a click on a place shows the works near it this month), a project's own map, the back
// office's drawing map (click to add points; the GeoJSON goes into the form's textarea), and "use my location".
// Each map says it is ready in its element's data-loaded attribute (what browser tests wait for).
(function () {
  "use strict";
  var COLOURS = { study: "#6a3d9a", consultation: "#8a4b00", works: "#a4161a", delivered: "#1e6b34" };

  function style(feature) {
    var colour = COLOURS[(feature.properties || {}).phase] || "#083a73";
    return { color: colour, weight: 5, opacity: 0.9, fillColor: colour, fillOpacity: 0.3 };
  }

  function pointToLayer(feature, latlng) {
    var colour = style(feature).color;
    return L.circleMarker(latlng, { radius: 8, color: colour, weight: 3, fillColor: colour, fillOpacity: 0.6 });
  }

  function projectsMap(element) {
    var base = CitoyenReports.baseMap(element, { keyboard: true });
    var layer = L.geoJSON(null, {
      style: style,
      pointToLayer: pointToLayer,
      onEachFeature: function (feature, item) {
        var link = document.createElement("a");
        link.href = feature.properties.url;
        link.textContent = feature.properties.title;
        item.bindPopup(link);
        item.bindTooltip(feature.properties.title);
      }
    }).addTo(base.map);
    var query = element.dataset.apiQuery;
    var pending = 0;
    var retries = 0;
    function load() {
      var b = base.map.getBounds();
      var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
      // The zoom lets the server answer with the geometries simplified for the screen, and share one answer
      // between views a few pixels apart.
      var url = "/api/projects?bbox=" + box.join(",") + "&zoom=" + Math.floor(base.map.getZoom()) +
        (query ? "&" + query : "");
      pending += 1;
      var mine = pending;
      element.dataset.loaded = "false";
      var current = true;
      return fetch(url, { headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          current = response.headers.get("X-Projects-Map-Current") !== "false";
          return response.json();
        })
        .then(function (collection) {
          if (mine !== pending) return;
          // An answer of a previous version, served while the server rebuilds it: ask again in a moment.
          if (!current && retries < 10) {
            retries += 1;
            window.setTimeout(function () { if (mine === pending) load(); }, 3000);
          }
          layer.clearLayers();
          layer.addData(collection);
          element.dataset.features = String(collection.features.length);
          element.dataset.loaded = "true";
        });
    }
    base.ready.then(function (outline) {
      var near = element.dataset.near;
      if (near) {
        var parts = near.split(",").map(parseFloat);
        var here = L.latLng(parts[1], parts[0]);
        base.map.setView(here, 15);
        L.circle(here, { radius: 1000, color: "#083a73", weight: 2, fill: false, interactive: false }).addTo(base.map);
        L.circleMarker(here, { radius: 6, color: "#083a73", fillOpacity: 1, interactive: false }).addTo(base.map);
      } else {
        CitoyenReports.fitCity(base.map, outline);
      }
      base.map.on("moveend", load);
      base.map.on("click", function (event) {
        window.location.href = "/projects?at=" + event.latlng.lng.toFixed(6) + "," + event.latlng.lat.toFixed(6) + "#near-results";
      });
      return load();
    });
  }

  function projectMap(element) {
    var base = CitoyenReports.baseMap(element, { scrollWheelZoom: false });
    var geometry = JSON.parse(element.dataset.geometry);
    var feature = { type: "Feature", geometry: geometry, properties: { phase: element.dataset.phase } };
    var layer = L.geoJSON(feature, { style: style, pointToLayer: pointToLayer, interactive: false }).addTo(base.map);
    if (geometry.type === "Point") base.map.setView(layer.getBounds().getCenter(), 16);
    else base.map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 17 });
    base.ready.then(function () { element.dataset.loaded = "true"; });
  }

  function drawMap(element) {
    var textarea = document.getElementById("geometry");
    var base = CitoyenReports.baseMap(element, {});
    var drawn = L.geoJSON(null, { style: style, pointToLayer: pointToLayer }).addTo(base.map);
    var kind = "";
    var points = [];
    function show() {
      drawn.clearLayers();
      try {
        var geometry = JSON.parse(textarea.value);
        drawn.addData(geometry);
      } catch (error) { /* WKT or a geometry being typed: not drawn */ }
    }
    function write() {
      var coords = points.map(function (p) { return [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))]; });
      var geometry = null;
      if (kind === "Point" && coords.length) geometry = { type: "Point", coordinates: coords[coords.length - 1] };
      if (kind === "LineString" && coords.length >= 2) geometry = { type: "LineString", coordinates: coords };
      if (kind === "Polygon" && coords.length >= 3) geometry = { type: "Polygon", coordinates: [coords.concat([coords[0]])] };
      if (geometry) textarea.value = JSON.stringify(geometry);
      show();
    }
    document.querySelectorAll("[data-draw]").forEach(function (button) {
      button.addEventListener("click", function () {
        kind = button.dataset.draw;
        points = [];
        if (!kind) textarea.value = "";
        show();
      });
    });
    base.map.on("click", function (event) {
      if (!kind) return;
      points.push(event.latlng);
      write();
    });
    textarea.addEventListener("change", show);
    base.ready.then(function (outline) {
      show();
      if (drawn.getLayers().length) base.map.fitBounds(drawn.getBounds(), { padding: [20, 20], maxZoom: 17 });
      else CitoyenReports.fitCity(base.map, outline);
      element.dataset.loaded = "true";
    });
  }

  function locateButton(button) {
    var status = document.getElementById("projects-locate-status");
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = button.dataset.refusedText; return; }
      navigator.geolocation.getCurrentPosition(function (position) {
        window.location.href = "/projects?at=" + position.coords.longitude.toFixed(6) + "," +
          position.coords.latitude.toFixed(6) + "#near-results";
      }, function () { status.textContent = button.dataset.refusedText; });
    });
  }

  var element = document.getElementById("projects-map");
  if (element) projectsMap(element);
  element = document.getElementById("project-map");
  if (element) projectMap(element);
  element = document.getElementById("project-draw-map");
  if (element) drawMap(element);
  element = document.getElementById("projects-locate");
  if (element) locateButton(element);
})();
