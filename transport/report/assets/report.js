/* Draws the report's maps with Leaflet from the JSON blocks in the page.
   Part of sen-transport (MIT). Needs window.L (Leaflet 1.9, inlined before this script). */
(function () {
  "use strict";

  function drawMap(el, d) {
    var map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.25 });
    map.on("click", function () { map.scrollWheelZoom.enable(); });
    map.on("mouseout", function () { map.scrollWheelZoom.disable(); });

    var bases = {};
    d.tiles.forEach(function (t, i) {
      var layer = L.tileLayer(t.url, {
        attribution: t.attribution, maxZoom: 18, subdomains: "abcd", crossOrigin: false
      });
      bases[t.name] = layer;
      if (i === 0) { layer.addTo(map); }
    });
    var blank = L.layerGroup();
    bases["No background"] = blank;
    if (d.tiles.length === 0) { blank.addTo(map); }

    var overlays = {};
    var homes = L.layerGroup();
    d.cells.forEach(function (c) {
      var share = Math.sqrt(c.n / d.maxCell);
      L.polygon(c.b, {
        color: "#5e3c99", weight: c.coarse ? 1 : 0.5, opacity: 0.6,
        dashArray: c.coarse ? "3 3" : null,
        fillColor: "#5e3c99", fillOpacity: c.coarse ? 0.08 : 0.12 + 0.45 * share
      }).bindTooltip(c.t, { sticky: true }).addTo(homes);
    });
    homes.addTo(map);
    overlays["Homes (pupils per square)"] = homes;

    var groups = {};
    d.vehicles.forEach(function (v) {
      if (!v.routes) { return; }
      groups[v.name] = L.layerGroup().addTo(map);
      overlays['<span class="swatch" style="background:' + v.colour + '"></span>' +
        v.name + " (" + v.routes + ")"] = groups[v.name];
    });
    var colour = {};
    d.vehicles.forEach(function (v) { colour[v.name] = v.colour; });
    var dense = d.routes.length > 200;
    var weight = dense ? 2 : 3;
    d.routes.forEach(function (r) {
      var line = L.polyline(r.c, {
        color: colour[r.v] || "#666", weight: weight, opacity: dense ? 0.7 : 0.85
      });
      line.bindTooltip(r.t, { sticky: true });
      line.on("mouseover", function () { line.setStyle({ weight: 6, opacity: 1 }); line.bringToFront(); });
      line.on("mouseout", function () { line.setStyle({ weight: weight, opacity: dense ? 0.7 : 0.85 }); });
      line.addTo(groups[r.v] || map);
    });

    var schools = L.layerGroup().addTo(map);
    d.schools.forEach(function (s) {
      L.circleMarker(s.p, {
        radius: Math.min(3 + Math.sqrt(s.n) / 2, 10), color: "#111", weight: 1.5,
        fillColor: "#ffffff", fillOpacity: 1
      }).bindTooltip(s.t).addTo(schools);
    });
    overlays.Schools = schools;

    if (d.added && d.added.length) {
      var added = L.layerGroup().addTo(map);
      d.added.forEach(function (a) {
        L.circleMarker(a.p, {
          radius: Math.min(5 + Math.sqrt(a.n), 16), color: "#b30000", weight: 2,
          fillColor: "#ffb000", fillOpacity: 0.9
        }).bindTooltip(a.t).addTo(added);
      });
      overlays['<span class="added-key"></span>Places added / sites opened'] = added;
    }

    L.control.layers(bases, overlays, { collapsed: true }).addTo(map);
    L.control.scale({ imperial: true, metric: true }).addTo(map);
    map.fitBounds(d.bounds, { padding: [16, 16] });
    return map;
  }

  var drawn = 0;
  var blocks = document.querySelectorAll("script.map-data");
  Array.prototype.forEach.call(blocks, function (block) {
    var el = document.querySelector('[data-source="' + block.id + '"]');
    if (!el) { return; }
    try {
      drawMap(el, JSON.parse(block.textContent));
      drawn += 1;
    } catch (err) {
      el.textContent = "This map could not be drawn: " + err;
      console.error(err);
    }
  });
  document.body.setAttribute("data-maps-drawn", String(drawn));
})();
