// The trip form's map (carpool): a click (or Enter on the focused map, at its centre) places where the trip starts,
// then where it goes. Each pin is snapped to its H3 cell by /api/carpool/cells: the cell's hexagon is drawn, the pin
// sits at its centre and the form's coordinates are the centre's, so the point clicked is never sent with the trip.
// Choosing a neighbourhood or typing an address instead removes that end's pin. Without JavaScript the map stays
// hidden and the form takes a neighbourhood, an address or coordinates.
(function () {
  "use strict";
  var element = document.querySelector("[data-carpool-picker]");
  if (!element) return;
  document.getElementById("trip-map-box").hidden = false;
  var base = CitoyenReports.baseMap(element);
  var map = base.map;
  var statusLine = document.getElementById("trip-map-status");
  var colours = { from: "#0b6e4f", to: "#a4161a" };
  var drawn = {};
  var viewSet = false;

  function input(prefix, name) { return document.getElementById(prefix + "-" + name); }

  function number(field) {
    var value = parseFloat(String(field.value).replace(",", "."));
    return isFinite(value) ? value : null;
  }

  function target() {
    var checked = document.querySelector("input[name='map_target']:checked");
    return checked ? checked.value : "from";
  }

  function forget(prefix) {
    if (drawn[prefix]) {
      map.removeLayer(drawn[prefix]);
      delete drawn[prefix];
    }
    delete element.dataset[prefix + "Cell"];
  }

  function draw(prefix, cell) {
    forget(prefix);
    var ring = cell.geometry.coordinates[0].map(function (point) { return [point[1], point[0]]; });
    drawn[prefix] = L.layerGroup([
      L.polygon(ring, { color: colours[prefix], weight: 2, fillColor: colours[prefix], fillOpacity: 0.25, interactive: false }),
      L.circleMarker([cell.centre[1], cell.centre[0]], {
        radius: 7, color: "#ffffff", weight: 2, fillColor: colours[prefix], fillOpacity: 1, interactive: false
      })
    ]).addTo(map);
    element.dataset[prefix + "Cell"] = cell.cell;
  }

  // Snaps a point to its cell and fills the form with the cell's centre; `quiet` keeps the target and the status
  // (a point shown back by the server after a refusal).
  function place(prefix, latlng, quiet) {
    var query = new URLSearchParams({ lat: latlng.lat.toFixed(6), lng: latlng.lng.toFixed(6) });
    return fetch("/api/carpool/cells?" + query.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (cell) {
        draw(prefix, cell);
        input(prefix, "lon").value = cell.centre[0].toFixed(6);
        input(prefix, "lat").value = cell.centre[1].toFixed(6);
        input(prefix, "neighbourhood").value = "";
        input(prefix, "address").value = "";
        if (quiet) return;
        var quartier = cell.quartier ? cell.quartier.name : element.dataset.outsideText;
        statusLine.textContent = element.dataset[prefix + "PlacedText"].replace("{quartier}", quartier);
        if (prefix === "from") document.querySelector("input[name='map_target'][value='to']").checked = true;
      })
      .catch(function () { statusLine.textContent = element.dataset.failedText; });
  }

  map.on("click", function (event) { place(target(), event.latlng); });
  element.addEventListener("keydown", function (event) {
    if (!viewSet || event.target !== element || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    place(target(), map.getCenter());
  });

  ["from", "to"].forEach(function (prefix) {
    // A neighbourhood chosen or an address typed replaces the pin (the server takes the neighbourhood first).
    input(prefix, "neighbourhood").addEventListener("change", function (event) {
      if (event.target.value) {
        forget(prefix);
        input(prefix, "lon").value = "";
        input(prefix, "lat").value = "";
      }
    });
    input(prefix, "address").addEventListener("change", function (event) {
      if (event.target.value.trim()) {
        forget(prefix);
        input(prefix, "lon").value = "";
        input(prefix, "lat").value = "";
      }
    });
  });

  base.ready.then(function (layer) {
    CitoyenReports.fitCity(map, layer);
    viewSet = true;
    ["from", "to"].forEach(function (prefix) {
      var lon = number(input(prefix, "lon")), lat = number(input(prefix, "lat"));
      if (lon !== null && lat !== null && Math.abs(lon) <= 180 && Math.abs(lat) <= 90) place(prefix, L.latLng(lat, lon), true);
    });
    element.dataset.loaded = "true";
  });
})();
