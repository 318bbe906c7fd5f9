// The street map under the city's own layers: the raster tiles configured by CITOYEN_MAP_TILE_URL (by default
// IGN's Plan IGN v2), read from the map element's data-tile-url. Tiles are tried, and if one fails before any has
// loaded (no internet, the tile server down or blocked) the layer is removed with its attribution, and the map
// shows the city's own layers alone. The element's data-tiles says which: "off", "loading", "loaded",
// "unavailable".
(function () {
  "use strict";

  function add(map, element) {
    var url = element.dataset.tileUrl;
    if (!url) {
      element.dataset.tiles = "off";
      return null;
    }
    var layer = L.tileLayer(url, { attribution: element.dataset.tileAttribution || "", maxZoom: 19 });
    var loaded = false;
    layer.on("tileload", function () {
      if (loaded) return;
      loaded = true;
      element.dataset.tiles = "loaded";
    });
    layer.on("tileerror", function () {
      if (loaded || element.dataset.tiles === "unavailable") return;
      element.dataset.tiles = "unavailable";
      map.removeLayer(layer);
    });
    element.dataset.tiles = "loading";
    layer.addTo(map);
    layer.bringToBack();
    return layer;
  }

  window.CitoyenTiles = { add: add };
})();
