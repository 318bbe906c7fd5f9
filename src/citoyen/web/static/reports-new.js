// "Report a problem": a tap or click on the map (or Enter on the focused map, at its centre) places the
// pin and fills the longitude/latitude fields, which can also be typed; "Use my location" asks the
// browser. With a category and a pin, the reports of the same kind nearby are loaded with htmx. A typed address
// places the pin as it is typed (the address API), the address nearest to the pin is shown under the field.
// Forms without a category (a proposal's optional place) use the same place picker.
(function () {
  "use strict";
  var element = document.querySelector("[data-place-picker]");
  if (!element) return;
  var lonInput = document.getElementById("lon");
  var latInput = document.getElementById("lat");
  var category = document.getElementById("category");
  var statusLine = document.getElementById("location-status");
  var locateButton = document.getElementById("use-location");
  var base = CitoyenReports.baseMap(element);
  var map = base.map;
  var pin = null;
  var viewSet = false;  // the map has no view until the neighbourhoods are drawn

  function say(text) { statusLine.textContent = text || ""; }

  function number(input) {
    var value = parseFloat(String(input.value).replace(",", "."));
    return isFinite(value) ? value : null;
  }

  function showPin(latlng) {
    if (pin) pin.setLatLng(latlng);
    else {
      pin = L.circleMarker(latlng, {
        radius: 11, color: "#a4161a", weight: 4, fillColor: "#f5a300", fillOpacity: 0.9, interactive: false
      }).addTo(map);
    }
    element.dataset.pin = latlng.lng.toFixed(6) + "," + latlng.lat.toFixed(6);
  }

  function checkDuplicates() {
    var target = document.getElementById("duplicates");
    if (!category || !target) return;
    var lon = number(lonInput), lat = number(latInput);
    if (!category.value || lon === null || lat === null) { target.innerHTML = ""; return; }
    var query = new URLSearchParams({ category: category.value, lon: String(lon), lat: String(lat) });
    htmx.ajax("GET", "/reports/new/duplicates?" + query.toString(), { target: "#duplicates", swap: "innerHTML" });
  }

  // The address nearest to the pin ("Near 12 rue …"), under the address field; it fills the field when the
  // person has typed nothing there (or only what an earlier pin filled in).
  var addressInput = document.getElementById("address");
  var autoAddress = null;
  function showNearAddress(lon, lat) {
    var near = document.getElementById("address-near");
    if (!near) return;
    var query = new URLSearchParams({ lon: lon.toFixed(6), lat: lat.toFixed(6) });
    htmx.ajax("GET", "/territory/addresses/near?" + query.toString(), { target: "#address-near", swap: "innerHTML" })
      .then(function () {
        var found = near.querySelector("[data-address]");
        if (!found || !addressInput) return;
        if (addressInput.value === "" || addressInput.value === autoAddress) {
          addressInput.value = autoAddress = found.dataset.address;
        }
      });
  }

  function place(latlng) {
    showPin(latlng);
    // With street tiles, come closer so that the pin can be moved precisely.
    if (element.dataset.tileUrl && map.getZoom() < 16) map.setView(latlng, 17);
    lonInput.value = latlng.lng.toFixed(6);
    latInput.value = latlng.lat.toFixed(6);
    say(element.dataset.placedText);
    checkDuplicates();
    showNearAddress(latlng.lng, latlng.lat);
  }

  // An address typed (or chosen among the suggestions) places the pin there: as one types (a postcode, a
  // quartier's name, the start of an address: the best match so far, after a pause), and again when the field
  // is left. Only leaving the field says that nothing was found; while typing, a text not found yet is normal.
  var typing = null;
  var asked = 0;  // the latest lookup's number: an earlier answer arriving late is dropped
  function placeAddress(whileTyping) {
    var text = addressInput.value.trim();
    if (text.length < 3 || text === autoAddress) return;
    var query = new URLSearchParams({ q: text, limit: "1" });
    if (whileTyping) query.set("autocomplete", "true");
    var number = ++asked;
    fetch("/api/territory/addresses?" + query.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { features: [] }; })
      .then(function (body) {
        if (number !== asked) return;
        var feature = body.features && body.features[0];
        if (!feature) { if (!whileTyping) say(addressInput.dataset.notFoundText); return; }
        var latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
        showPin(latlng);
        map.setView(latlng, viewSet ? Math.max(map.getZoom(), 17) : 17);
        lonInput.value = latlng.lng.toFixed(6);
        latInput.value = latlng.lat.toFixed(6);
        say(addressInput.dataset.foundText.replace("{address}", feature.properties.label));
        element.dataset.address = feature.properties.label;
        checkDuplicates();
      })
      .catch(function () { if (!whileTyping && number === asked) say(addressInput.dataset.notFoundText); });
  }
  if (addressInput) {
    addressInput.addEventListener("input", function () {
      clearTimeout(typing);
      typing = setTimeout(function () { placeAddress(true); }, 400);
    });
    addressInput.addEventListener("change", function () { clearTimeout(typing); placeAddress(false); });
  }

  function typedPlace() {
    var lon = number(lonInput), lat = number(latInput);
    if (lon === null || lat === null || Math.abs(lon) > 180 || Math.abs(lat) > 90) return false;
    var latlng = L.latLng(lat, lon);
    showPin(latlng);
    map.setView(latlng, viewSet ? Math.max(map.getZoom(), 16) : 16);
    return true;
  }

  map.on("click", function (event) { place(event.latlng); });
  element.addEventListener("keydown", function (event) {
    if (!viewSet || event.target !== element || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    place(map.getCenter());
  });
  [lonInput, latInput].forEach(function (input) {
    input.addEventListener("change", function () { if (typedPlace()) checkDuplicates(); });
  });
  if (category) category.addEventListener("change", checkDuplicates);

  locateButton.addEventListener("click", function () {
    if (!navigator.geolocation) { say(element.dataset.unsupportedText); return; }
    say(element.dataset.locatingText);
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var latlng = L.latLng(position.coords.latitude, position.coords.longitude);
        map.setView(latlng, viewSet ? Math.max(map.getZoom(), 17) : 17);
        place(latlng);
      },
      function () { say(element.dataset.refusedText); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });

  base.ready.then(function (layer) {
    // After an error the form comes back with the typed coordinates: show them.
    if (!pin && !typedPlace()) CitoyenReports.fitCity(map, layer);
    else checkDuplicates();
    viewSet = true;
    element.dataset.loaded = "true";
  });
})();
