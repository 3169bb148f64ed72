/* geomap map runtime, inlined into every map page by geomap/render.py.
 *
 * Builds the basemap and country choropleth, co-mention arcs, one circle marker per place,
 * popups, labels, the map furniture and the side panel from the page's single JSON payload (a
 * script element of type application/json; its layout is documented in render._payload).
 * Every string is untrusted article text or metadata: it reaches the DOM only through
 * textContent or createTextNode, never as HTML, so markup, ${...} and {{ ... }} in an article
 * stay literal. Leaflet takes [lat, lon]; the payload already holds places in that order.
 * Nothing here touches storage, cookies, the network or the parent window, so the page also
 * works inside a sandboxed <iframe>.
 *
 * When everything is drawn the runtime sets window.geomapReady = true and the performance
 * mark "geomap-ready"; after the next frame, window.geomapPainted and "geomap-painted"
 * (bench/bench_map.py measures paint time with them).
 */
(function (window, document) {
  "use strict";

  var L = window.L;
  // Same test as the Python side: only web links become <a href>, never javascript: and co.
  var WEB_URL = /^https?:\/\//i;
  var LAND = "#efece6";
  var POLAR_CUT = 82;
  // Maps of at least this many places group overlapping circles (see cluster()).
  var CLUSTER_MIN_PLACES = 60;
  var state = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  // Lower case without diacritics, so "kyi" finds "Kyiv" and "cote" finds "Côte d'Ivoire".
  function fold(text) {
    var lower = String(text).toLowerCase();
    return lower.normalize ? lower.normalize("NFD").replace(/[\u0300-\u036f]/g, "") : lower;
  }

  // A sentence as text nodes with <mark> around each mention. ranges are sorted,
  // non-overlapping [start, end) pairs in UTF-16 code units (JavaScript string indices).
  function markedSentence(text, ranges) {
    var item = el("li");
    var pos = 0;
    ranges.forEach(function (range) {
      var start = Math.max(range[0], pos);
      var end = Math.min(range[1], text.length);
      if (end <= start) { return; }
      if (start > pos) { item.appendChild(document.createTextNode(text.slice(pos, start))); }
      item.appendChild(el("mark", null, text.slice(start, end)));
      pos = end;
    });
    if (pos < text.length) { item.appendChild(document.createTextNode(text.slice(pos))); }
    return item;
  }

  // A document is [label, source index or null, date or null, url or null(, filter unit)].
  function docLink(doc, className) {
    var label;
    if (typeof doc[3] === "string" && WEB_URL.test(doc[3])) {
      label = el("a", className, doc[0]);
      label.setAttribute("href", doc[3]);
      label.setAttribute("target", "_blank");
      label.setAttribute("rel", "noopener noreferrer");
    } else {
      label = el("span", className, doc[0]);
    }
    return label;
  }

  function sourceName(data, index) {
    return index === null || index === undefined ? null : data.sources[index];
  }

  function documentHeader(data, doc) {
    var head = el("div", "geomap-doc-head");
    head.appendChild(docLink(doc, "geomap-doc-title"));
    var meta = [sourceName(data, doc[1]), doc[2]].filter(function (t) { return t; }).join(", ");
    if (meta) { head.appendChild(el("span", "geomap-doc-meta", " \u2014 " + meta)); }
    return head;
  }

  function dateKey(date) {
    return typeof date === "string" ? date.slice(0, 10) : "";
  }

  // The units the document filter switches: one per document, or the pooled units of the
  // payload (documents by source and day, month or year...) when documents are many.
  function filterUnits(data) {
    if (data.units) {
      return data.units.map(function (unit) { return { source: unit[0], date: unit[1], docs: unit[2] }; });
    }
    return data.documents.map(function (doc, i) {
      return { source: doc[1], date: dateKey(doc[2]) || null, docs: 1, doc: i };
    });
  }

  // The filter unit of the document at this index of data.documents.
  function unitOf(data, index) {
    return data.units ? data.documents[index][4] : index;
  }

  // ---------------------------------------------------------------------------------------
  // Counting under the document filter

  function recount(data, S) {
    var countries = {};
    var places = 0;
    var mentions = 0;
    data.places.forEach(function (place, i) {
      var count = 0;
      var sentences = 0;
      var docs = 0;
      for (var k = 0; k < place.cells.length; k += 4) {
        if (S.active[place.cells[k]]) {
          count += place.cells[k + 1];
          sentences += place.cells[k + 2];
          docs += place.cells[k + 3];
        }
      }
      S.counts[i] = count;
      S.sentenceCounts[i] = sentences;
      S.docCounts[i] = docs;
      if (count) {
        places += 1;
        mentions += count;
        if (place.cc) { countries[place.cc] = (countries[place.cc] || 0) + count; }
      }
    });
    S.countryCounts = countries;
    data.edges.forEach(function (edge, i) {
      var n = 0;
      var perUnit = edge[3];
      for (var k = 0; k < perUnit.length; k += 2) {
        if (S.active[perUnit[k]]) { n += perUnit[k + 1]; }
      }
      S.edgeCounts[i] = n;
    });
    var docs = 0;
    S.units.forEach(function (unit, u) { if (S.active[u]) { docs += unit.docs; } });
    S.summary = [plural(docs, "document", "documents"), plural(mentions, "mention", "mentions"),
      plural(places, "place", "places")].join(" \u00b7 ");
  }

  function radius(data, count) {
    return Math.max(data.minR, Math.round(data.scale * Math.sqrt(count) * 10) / 10);
  }

  function classOf(data, count) {
    for (var i = data.classes.length - 1; i >= 0; i -= 1) {
      if (count >= data.classes[i][0]) { return data.classes[i]; }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // Popups

  // Built on opening only, so a map of hundreds of places keeps a small DOM.
  function placePopup(data, S, index) {
    var place = data.places[index];
    var count = S.counts[index];
    var root = el("div", "geomap-popup");
    var head = el("div", "geomap-popup-head");
    head.appendChild(el("strong", null, place.name));
    head.appendChild(document.createTextNode(
      " \u00b7 " + place.type + " \u00b7 " + plural(count, "mention", "mentions")));
    root.appendChild(head);
    if (place.forms.length) {
      root.appendChild(el("div", "geomap-popup-forms", "As written: " + place.forms.join(", ")));
    }
    if (place.note) { root.appendChild(el("div", "geomap-popup-note", place.note)); }
    if (typeof place.conf === "number") {
      var doubt = "Uncertain match: confidence " + place.conf.toFixed(2);
      if (place.candidates) { doubt += " among " + plural(place.candidates, "candidate", "candidates"); }
      doubt += place.runnerUp ? "; runner-up: " + place.runnerUp : "";
      root.appendChild(el("div", "geomap-popup-note", doubt));
    }
    var list = null;
    var lastDoc = -1;
    var shown = 0;
    var shownDocs = 0;
    place.sentences.forEach(function (ref) {
      var sentence = data.sentences[ref[0]];
      if (!S.active[unitOf(data, sentence[0])]) { return; }
      if (sentence[0] !== lastDoc) {
        lastDoc = sentence[0];
        shownDocs += 1;
        var section = el("div", "geomap-doc");
        section.appendChild(documentHeader(data, data.documents[lastDoc]));
        list = el("ul", "geomap-sentences");
        section.appendChild(list);
        root.appendChild(section);
      }
      list.appendChild(markedSentence(sentence[1], ref[1]));
      shown += 1;
    });
    // Popups quote the first documents naming the place; say what they leave out.
    var more = S.sentenceCounts[index] - shown;
    var moreDocs = S.docCounts[index] - shownDocs;
    if (more > 0) {
      root.appendChild(el("div", "geomap-popup-more",
        "and " + plural(more, "more sentence", "more sentences") +
        (moreDocs > 0 ? ", " + plural(moreDocs, "document", "documents") + " not quoted" : "")));
    }
    return root;
  }

  // ---------------------------------------------------------------------------------------
  // Map furniture

  function control(position, build) {
    var Box = L.Control.extend({
      onAdd: function () {
        var node = build();
        // Clicks and wheel on a panel must not pan or zoom the map underneath.
        L.DomEvent.disableClickPropagation(node);
        L.DomEvent.disableScrollPropagation(node);
        return node;
      }
    });
    return new Box({ position: position });
  }

  function titleBox(data, S) {
    var box = el("div", "geomap-panel geomap-title");
    box.setAttribute("role", "banner");
    box.appendChild(el("h1", "geomap-title-text", data.title));
    S.summaryNode = el("div", "geomap-title-counts", data.counts);
    box.appendChild(S.summaryNode);
    data.notes.forEach(function (note) { box.appendChild(el("div", "geomap-title-note", note)); });
    return box;
  }

  function swatchRow(color, label, round) {
    var row = el("div", "geomap-legend-row");
    var swatch = el("span", round ? "geomap-swatch" : "geomap-swatch geomap-swatch-square");
    swatch.style.backgroundColor = color;
    row.appendChild(swatch);
    row.appendChild(el("span", "geomap-legend-label", label));
    return row;
  }

  // A <details> element, so that a small frame can fold the legend away.
  function legendBox(data, open) {
    var box = el("details", "geomap-panel geomap-legend");
    box.open = open;
    box.appendChild(el("summary", "geomap-legend-summary", "Legend"));
    if (data.places.length) {
      box.appendChild(el("div", "geomap-legend-head", "Place type"));
      data.legend.kinds.forEach(function (kind) {
        box.appendChild(swatchRow(data.colors[kind], data.kinds[kind], true));
      });
      box.appendChild(el("div", "geomap-legend-head", "Mentions (circle area)"));
      var sizes = el("div", "geomap-legend-sizes");
      data.legend.sizes.forEach(function (size) {
        var item = el("div", "geomap-legend-size");
        var circle = el("span", "geomap-size-circle");
        circle.style.width = circle.style.height = (2 * size[1]) + "px";
        item.appendChild(circle);
        item.appendChild(el("span", "geomap-legend-label", String(size[0])));
        sizes.appendChild(item);
      });
      box.appendChild(sizes);
      if (data.places.length >= CLUSTER_MIN_PLACES) {
        var group = el("div", "geomap-legend-row");
        var ring = el("span", "geomap-cluster geomap-cluster-swatch");
        ring.appendChild(el("span", "geomap-cluster-count", "+5"));
        group.appendChild(ring);
        group.appendChild(el("span", "geomap-legend-label", "more places under it (zoom in)"));
        box.appendChild(group);
      }
    }
    if (data.basemap.length) {
      box.appendChild(el("div", "geomap-legend-head", "Mentions per country"));
      var classes = el("div", "geomap-legend-classes");
      data.classes.forEach(function (cls) { classes.appendChild(swatchRow(cls[3], cls[2], false)); });
      box.appendChild(classes);
    }
    if (data.edges.length) {
      box.appendChild(el("div", "geomap-legend-head", "Named in one sentence"));
      var line = el("div", "geomap-legend-row");
      line.appendChild(el("span", "geomap-edge-swatch"));
      line.appendChild(el("span", "geomap-legend-label", "arc width \u221d sentences"));
      box.appendChild(line);
    }
    return box;
  }

  // An overlay for the layer control that only switches a behaviour on and off.
  var Switch = L.Layer.extend({
    initialize: function (on, off) { this._on = on; this._off = off; },
    onAdd: function () { this._on(); return this; },
    onRemove: function () { this._off(); return this; }
  });

  // ---------------------------------------------------------------------------------------
  // Layers

  function countryText(data, S, index) {
    var country = data.basemap[index];
    var n = country[0] ? (S.countryCounts[country[0]] || 0) : 0;
    return country[1] + " \u00b7 " + (n ? plural(n, "mention", "mentions") + " (country and places in it)"
      : "no mentions");
  }

  function addBasemap(map, data, S) {
    if (!data.basemap.length) { return; }
    // Own pane between tiles (200) and overlays (400); canvas, as ~250 countries of
    // polygons draw faster there than as SVG paths.
    var pane = map.createPane("geomapBasemap");
    pane.style.zIndex = 250;
    var renderer = L.canvas({ pane: "geomapBasemap", padding: 0.5, tolerance: 0 });
    var features = data.basemap.map(function (country, i) {
      return { type: "Feature", properties: { i: i }, geometry: country[2] };
    });
    S.countryStyle = function (feature) {
      var country = data.basemap[feature.properties.i];
      var n = S.choropleth && country[0] ? (S.countryCounts[country[0]] || 0) : 0;
      var cls = n ? classOf(data, n) : null;
      if (data.tiles) {
        return { color: "#6b6b6b", weight: 0.6, opacity: 0.6, fill: !!cls,
          fillColor: cls ? cls[3] : LAND, fillOpacity: cls ? 0.6 : 0 };
      }
      return { color: "#b5ada0", weight: 0.6, opacity: 1, fillColor: cls ? cls[3] : LAND,
        fillOpacity: 1 };
    };
    // A map shifted across the 180° meridian shows longitudes up to cut + 360: draw the
    // world a second time, 360° east, so countries there are not missing.
    var offsets = data.shift === null ? [0] : [0, 360];
    S.basemapLayers = offsets.map(function (offset) {
      return L.geoJSON(features, {
        pane: "geomapBasemap",
        renderer: renderer,
        style: S.countryStyle,
        coordsToLatLng: function (c) { return L.latLng(c[1], c[0] + offset); },
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(function () { return el("span", null, countryText(data, S, feature.properties.i)); },
            { sticky: true, className: "geomap-tooltip", opacity: 1 });
        }
      }).addTo(map);
    });
  }

  function restyleBasemap(S) {
    (S.basemapLayers || []).forEach(function (layer) { layer.setStyle(S.countryStyle); });
  }

  function bindPlacePopup(layer, data, S, index) {
    layer.bindPopup(function () { return placePopup(data, S, index); }, {
      className: "geomap-popup-frame",
      maxWidth: 400,
      minWidth: 260,
      maxHeight: 340,
      // Shared points, set once the controls are laid out (see render): popups pan clear of them.
      autoPanPaddingTopLeft: S.padTopLeft,
      autoPanPaddingBottomRight: S.padBottomRight
    });
  }

  function addAreas(map, data, S) {
    var pane = map.createPane("geomapAreas");
    pane.style.zIndex = 380;
    S.areas = {};
    data.areas.forEach(function (area) {
      var index = area[0];
      var layer = L.geoJSON(area[1], {
        pane: "geomapAreas",
        style: { color: data.colors.region, weight: 1.5, dashArray: "4 3", fillColor: data.colors.region,
          fillOpacity: 0.15 }
      });
      bindPlacePopup(layer, data, S, index);
      layer.addTo(map);
      S.areas[index] = layer;
    });
  }

  function arc(a, b) {
    var rad = Math.PI / 180;
    var lat1 = a[0] * rad, lon1 = a[1] * rad, lat2 = b[0] * rad, lon2 = b[1] * rad;
    var h = Math.pow(Math.sin((lat2 - lat1) / 2), 2) +
      Math.cos(lat1) * Math.cos(lat2) * Math.pow(Math.sin((lon2 - lon1) / 2), 2);
    var d = 2 * Math.asin(Math.min(1, Math.sqrt(h)));
    if (!(d > 1e-9) || Math.abs(Math.sin(d)) < 1e-9) { return [[a, b]]; }
    var steps = Math.min(64, Math.max(4, Math.ceil(d / rad / 2)));
    var points = [[]];
    var previous = a[1];
    for (var i = 0; i <= steps; i += 1) {
      var f = i / steps;
      var A = Math.sin((1 - f) * d) / Math.sin(d);
      var B = Math.sin(f * d) / Math.sin(d);
      var x = A * Math.cos(lat1) * Math.cos(lon1) + B * Math.cos(lat2) * Math.cos(lon2);
      var y = A * Math.cos(lat1) * Math.sin(lon1) + B * Math.cos(lat2) * Math.sin(lon2);
      var z = A * Math.sin(lat1) + B * Math.sin(lat2);
      var lat = Math.atan2(z, Math.sqrt(x * x + y * y)) / rad;
      var lon = Math.atan2(y, x) / rad;
      // Keep longitudes continuous (no jump across the 180° meridian), starting at a's.
      while (lon - previous > 180) { lon -= 360; }
      while (lon - previous < -180) { lon += 360; }
      previous = lon;
      // Web Mercator cannot show the polar stretch of a great circle (it would run along the
      // map's top edge): leave it out, so the arc leaves the map and comes back.
      if (Math.abs(lat) > POLAR_CUT) {
        if (points[points.length - 1].length) { points.push([]); }
      } else {
        points[points.length - 1].push([lat, lon]);
      }
    }
    return points.filter(function (part) { return part.length > 1; });
  }

  // Width and opacity grow with the number of sentences naming the pair (scaled to the
  // strongest pair of the whole map, so a document filter keeps widths comparable).
  function edgeWeight(data, n) {
    return 1 + 5 * Math.sqrt(n / data.edges[0][2]);
  }

  function edgeOpacity(data, n) {
    return 0.25 + 0.35 * Math.sqrt(Math.min(1, n / data.edges[0][2]));
  }

  function addEdges(map, data, S) {
    var pane = map.createPane("geomapEdges");
    pane.style.zIndex = 390;
    var renderer = L.svg({ pane: "geomapEdges" });
    S.edgeLayer = L.layerGroup();
    S.edges = data.edges.map(function (edge) {
      var a = data.places[edge[0]];
      var b = data.places[edge[1]];
      var line = L.polyline(arc(a.latlon, b.latlon), {
        pane: "geomapEdges", renderer: renderer, color: "#35414b", opacity: edgeOpacity(data, edge[2]),
        weight: edgeWeight(data, edge[2]), lineCap: "round", className: "geomap-edge"
      });
      line.bindTooltip(function () {
        var i = S.edges.indexOf(line);
        return el("span", null, a.name + " \u2013 " + b.name + ": named together in " +
          plural(S.edgeCounts[i], "sentence", "sentences"));
      }, { sticky: true, className: "geomap-tooltip", opacity: 1 });
      line.on("mouseover", function () { line.setStyle({ opacity: 0.85 }); });
      line.on("mouseout", function () {
        line.setStyle({ opacity: edgeOpacity(data, S.edgeCounts[S.edges.indexOf(line)]) });
      });
      line.addTo(S.edgeLayer);
      return line;
    });
    S.edgeLayer.addTo(map);
  }

  // Hides permanent labels that overlap a label of a more-mentioned place (or a hidden place).
  function declutter(S) {
    var kept = [];
    S.labelled.forEach(function (index) {
      var marker = S.markers[index];
      var tip = marker.getTooltip();
      var node = tip && tip.getElement();
      if (!node) { return; }
      if (!S.counts[index] || !S.labels || S.clustered[index]) { node.style.visibility = "hidden"; return; }
      node.style.visibility = "";
      var box = node.getBoundingClientRect();
      var clash = kept.some(function (k) {
        return box.left < k.right && box.right > k.left && box.top < k.bottom && box.bottom > k.top;
      });
      if (clash) { node.style.visibility = "hidden"; } else { kept.push(box); }
    });
  }

  function addPlaces(map, data, S) {
    S.placeLayer = L.featureGroup();
    S.markers = [];
    S.labelled = [];
    data.places.forEach(function (place, index) {
      var marker = L.circleMarker(place.latlon, {
        radius: place.r,
        color: "#ffffff",
        weight: 1.5,
        opacity: 1,
        fillColor: data.colors[place.kind],
        fillOpacity: 0.88,
        className: "geomap-place geomap-place-" + place.kind,
        bubblingMouseEvents: false
      });
      bindPlacePopup(marker, data, S, index);
      var name = el("span", null, place.name);
      if (place.label) {
        marker.bindTooltip(name, {
          permanent: true, direction: "right", offset: [place.r - 2, 0],
          className: "geomap-label", opacity: 1
        });
        S.labelled.push(index);
      } else {
        marker.bindTooltip(name, {
          direction: "top", offset: [0, -place.r], className: "geomap-tooltip", opacity: 1
        });
      }
      marker.on("mouseover", function () { marker.setStyle({ color: "#1d2731", weight: 2 }); });
      marker.on("mouseout", function () { marker.setStyle({ color: "#ffffff", weight: 1.5 }); });
      marker.addTo(S.placeLayer);
      S.markers.push(marker);
    });
    S.placeLayer.addTo(map);
    // Paths exist only once on the map: name them for screen readers (a DOM attribute, not HTML).
    S.markers.forEach(function (marker, index) {
      var path = marker.getElement();
      if (path) {
        path.setAttribute("aria-label", data.places[index].name);
        path.setAttribute("data-count", String(data.places[index].count));
      }
    });
    // Clusters depend on the zoom only; labels on the view.
    map.on("zoomend", function () { cluster(map, data, S); });
    map.on("zoomend moveend", function () { declutter(S); });
  }

  // ---------------------------------------------------------------------------------------
  // Clusters: on maps of many places, a circle that would hide under a bigger one at the
  // current zoom is folded into it: the bigger place stays, with a "+N" badge (N places
  // folded in); clicking the badge zooms in until they stand apart.

  function clusterBadge(map, data, S, seed, members) {
    var total = 0;
    var bounds = L.latLngBounds([S.markers[seed].getLatLng()]);
    members.forEach(function (i) { total += S.counts[i]; bounds.extend(S.markers[i].getLatLng()); });
    var text = "+" + members.length;
    var width = 10 + 7 * text.length;
    var r = S.markers[seed].getRadius();
    var badge = L.marker(S.markers[seed].getLatLng(), {
      icon: L.divIcon({ className: "geomap-cluster", html: el("span", "geomap-cluster-count", text),
        iconSize: [width, 18], iconAnchor: [width / 2 - 0.72 * r, 9 + 0.72 * r] }),
      keyboard: false, riseOnHover: true, zIndexOffset: 1000
    });
    var names = members.slice(0, 6).map(function (i) { return data.places[i].name; });
    badge.bindTooltip(el("span", null, "Near " + data.places[seed].name + ": " +
      plural(members.length, "more place", "more places") + " (" + plural(total, "mention", "mentions") +
      "): " + names.join(", ") + (members.length > 6 ? ", \u2026" : "") + ". Click to zoom in."),
      { direction: "top", offset: [0, -12], className: "geomap-tooltip", opacity: 1 });
    badge.on("click", function () {
      var zoom = map.getZoom();
      var target = Math.min(map.getMaxZoom(), Math.max(zoom + 1, map.getBoundsZoom(bounds.pad(0.4))));
      map.setView(bounds.getCenter(), target);
    });
    badge.geomapSeed = seed;
    badge.geomapMembers = members;
    return badge;
  }

  function cluster(map, data, S) {
    (S.clusters || []).forEach(function (badge) { S.placeLayer.removeLayer(badge); });
    S.clusters = [];
    S.clustered = [];
    var groups = [];
    var active = data.places.length >= CLUSTER_MIN_PLACES && map.getZoom() < map.getMaxZoom() - 1;
    // Places come most mentioned first, so each group's first member is its biggest circle.
    data.places.forEach(function (place, i) {
      if (!S.counts[i] || !active) { return; }
      var marker = S.markers[i];
      var point = map.latLngToLayerPoint(marker.getLatLng());
      var r = marker.getRadius();
      for (var k = 0; k < groups.length; k += 1) {
        var seed = groups[k];
        if (point.distanceTo(seed.point) < Math.max(8, 0.8 * (r + seed.r))) {
          seed.members.push(i);
          return;
        }
      }
      groups.push({ point: point, r: r, members: [i] });
    });
    groups.forEach(function (group) {
      if (group.members.length < 2) { return; }
      var folded = group.members.slice(1);
      folded.forEach(function (i) {
        S.clustered[i] = true;
        if (S.markers[i].isPopupOpen()) { S.markers[i].closePopup(); }
      });
      var badge = clusterBadge(map, data, S, group.members[0], folded);
      S.placeLayer.addLayer(badge);
      S.clusters.push(badge);
    });
    S.markers.forEach(function (marker, i) {
      var path = marker.getElement();
      if (!path) { return; }
      var shown = S.counts[i] > 0 && !S.clustered[i];
      path.style.display = shown ? "" : "none";
      path.setAttribute("data-clustered", S.clustered[i] ? "true" : "false");
    });
  }

  // ---------------------------------------------------------------------------------------
  // Side panel

  function openPlace(map, S, index) {
    var marker = S.markers[index];
    if (!S.counts[index]) { return; }
    var latlng = marker.getLatLng();
    if (!map.getBounds().pad(-0.1).contains(latlng)) {
      map.setView(latlng, Math.max(map.getZoom(), 3), { animate: false });
    }
    // Zoom in (without animation, so clusters are recomputed at once) until it stands alone.
    while (S.clustered[index] && map.getZoom() < map.getMaxZoom()) {
      map.setView(latlng, map.getZoom() + 1, { animate: false });
    }
    marker.openPopup();
  }

  function placeList(map, data, S) {
    var section = el("section", "geomap-side-section geomap-places");
    var head = el("h2", null, "Places");
    section.appendChild(head);
    var filter = el("input", "geomap-filter");
    filter.type = "search";
    filter.placeholder = "Filter places\u2026";
    filter.setAttribute("aria-label", "Filter places by name");
    filter.setAttribute("autocomplete", "off");
    section.appendChild(filter);
    var list = el("ul", "geomap-place-list");
    list.setAttribute("aria-label", "Places, most mentioned first; Enter opens a place's popup");
    section.appendChild(list);
    var empty = el("div", "geomap-list-empty", "No place matches the filter.");
    empty.hidden = true;
    section.appendChild(empty);
    S.rows = [];
    var order = data.places.map(function (_, i) { return i; });
    order.forEach(function (index) {
      var place = data.places[index];
      var row = el("li", "geomap-row");
      row.tabIndex = 0;
      row.setAttribute("role", "button");
      row.setAttribute("data-index", String(index));
      var swatch = el("span", "geomap-swatch");
      swatch.style.backgroundColor = data.colors[place.kind];
      row.appendChild(swatch);
      var name = el("span", "geomap-row-name", place.name);
      name.appendChild(el("span", "geomap-row-kind", " \u00b7 " + place.type));
      row.appendChild(name);
      var count = el("span", "geomap-row-count", String(place.count));
      row.appendChild(count);
      row.geomapCount = count;
      row.geomapText = fold([place.name].concat(place.forms).join(" "));
      row.addEventListener("click", function () { openPlace(map, S, index); });
      row.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          openPlace(map, S, index);
        } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          var rows = visibleRows();
          var at = rows.indexOf(row) + (event.key === "ArrowDown" ? 1 : -1);
          if (at < 0) { filter.focus(); } else if (at < rows.length) { rows[at].focus(); }
        }
      });
      list.appendChild(row);
      S.rows[index] = row;
    });

    function visibleRows() {
      return S.rows.filter(function (row) { return !row.hidden; });
    }

    S.applyFilter = function () {
      var query = fold(filter.value.trim());
      S.rows.forEach(function (row, index) {
        row.hidden = !S.counts[index] || (query !== "" && row.geomapText.indexOf(query) < 0);
      });
      empty.hidden = visibleRows().length > 0 || !data.places.length;
    };
    filter.addEventListener("input", S.applyFilter);
    filter.addEventListener("keydown", function (event) {
      var rows = visibleRows();
      if (event.key === "Enter" && rows.length) {
        event.preventDefault();
        openPlace(map, S, Number(rows[0].getAttribute("data-index")));
      } else if (event.key === "ArrowDown" && rows.length) {
        event.preventDefault();
        rows[0].focus();
      }
    });
    return section;
  }

  function documentList(data, S, update) {
    var section = el("section", "geomap-side-section geomap-documents");
    section.appendChild(el("h2", null, "Documents"));
    if (data.filterNote) { section.appendChild(el("div", "geomap-side-note", data.filterNote)); }
    var units = S.units;
    S.checked = units.map(function () { return true; });
    S.range = null;
    if (data.filter === "none") { return section; }
    var seen = {};
    var dates = [];
    units.forEach(function (unit) {
      if (unit.date && !seen[unit.date]) { seen[unit.date] = true; dates.push(unit.date); }
    });
    dates.sort();
    if (dates.length) {
      var range = el("div", "geomap-dates");
      var from = el("select");
      var to = el("select");
      dates.forEach(function (date) {
        from.appendChild(el("option", null, date));
        to.appendChild(el("option", null, date));
      });
      from.value = dates[0];
      to.value = dates[dates.length - 1];
      from.setAttribute("aria-label", "Documents dated from");
      to.setAttribute("aria-label", "Documents dated until");
      var onRange = function () {
        S.range = [from.value <= to.value ? from.value : to.value, from.value <= to.value ? to.value : from.value];
        update();
      };
      from.addEventListener("change", onRange);
      to.addEventListener("change", onRange);
      range.appendChild(el("span", null, "Dated "));
      range.appendChild(from);
      range.appendChild(el("span", null, " to "));
      range.appendChild(to);
      section.appendChild(range);
      if (units.some(function (unit) { return !unit.date; })) {
        section.appendChild(el("div", "geomap-side-note", "Undated documents are always included."));
      }
    }
    var groups = {};
    var names = [];
    units.forEach(function (unit, i) {
      var name = sourceName(data, unit.source) || "(no source)";
      if (!groups[name]) { groups[name] = []; names.push(name); }
      groups[name].push(i);
    });
    names.sort(function (a, b) {
      if (a === "(no source)" || b === "(no source)") { return a === "(no source)" ? 1 : -1; }
      return a < b ? -1 : a > b ? 1 : 0;
    });
    // Filtered by source only: the group's own checkbox is the one unit, no rows under it.
    var rows = data.filter !== "source";
    S.groupBoxes = [];
    names.forEach(function (name) {
      var members = groups[name];
      var documents = 0;
      members.forEach(function (i) { documents += units[i].docs; });
      var group = el("details", rows ? "geomap-source" : "geomap-source geomap-source-only");
      group.open = rows && members.length <= 20;
      var summary = el("summary");
      var all = el("input");
      all.type = "checkbox";
      all.checked = true;
      all.setAttribute("aria-label", "Show documents from " + name);
      summary.appendChild(all);
      summary.appendChild(el("span", "geomap-source-name", name + " (" + documents + ")"));
      group.appendChild(summary);
      var list = el("ul", "geomap-doc-list");
      var boxes = (rows ? members : []).map(function (i) {
        var unit = units[i];
        var item = el("li");
        var box = el("input");
        box.type = "checkbox";
        box.checked = true;
        box.addEventListener("change", function () {
          S.checked[i] = box.checked;
          syncGroup();
          update();
        });
        item.appendChild(box);
        if (unit.doc !== undefined) {
          var doc = data.documents[unit.doc];
          box.setAttribute("aria-label", "Show " + doc[0]);
          item.appendChild(docLink(doc, "geomap-doc-link"));
          if (doc[2]) { item.appendChild(el("span", "geomap-doc-date", " (" + doc[2] + ")")); }
        } else {
          box.setAttribute("aria-label", "Show " + name + ", " + (unit.date || "undated"));
          item.appendChild(el("span", "geomap-doc-link", unit.date || "undated"));
          item.appendChild(el("span", "geomap-doc-date", " (" + plural(unit.docs, "document", "documents") + ")"));
        }
        list.appendChild(item);
        return box;
      });
      function syncGroup() {
        var on = boxes.filter(function (box) { return box.checked; }).length;
        all.checked = on === boxes.length;
        all.indeterminate = on > 0 && on < boxes.length;
      }
      all.addEventListener("click", function (event) { event.stopPropagation(); });
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        members.forEach(function (i) { S.checked[i] = all.checked; });
        all.indeterminate = false;
        update();
      });
      group.appendChild(list);
      section.appendChild(group);
      S.groupBoxes.push(all);
    });
    return section;
  }

  function activeUnits(S) {
    return S.units.map(function (unit, i) {
      if (!S.checked[i]) { return false; }
      return !(S.range && unit.date && (unit.date < S.range[0] || unit.date > S.range[1]));
    });
  }

  function sidePanel(map, data, S, update) {
    var side = el("aside", "geomap-side");
    side.id = "geomap-side";
    side.setAttribute("aria-label", "Places and documents");
    if (data.places.length) { side.appendChild(placeList(map, data, S)); }
    if (data.documentsTotal) { side.appendChild(documentList(data, S, update)); }
    document.body.appendChild(side);
    document.body.classList.add("geomap-has-side");
    // Narrow frames (a report column, a notebook cell) start with the panel folded away.
    var narrow = (window.innerWidth || document.documentElement.clientWidth) < 760;
    setPanel(map, !narrow);
    return side;
  }

  function setPanel(map, open) {
    document.body.classList.toggle("geomap-side-closed", !open);
    if (state && state.panelButton) {
      state.panelButton.setAttribute("aria-expanded", String(open));
      state.panelButton.textContent = open ? "Hide list \u25b8" : "\u25c2 Places & documents";
    }
    map.invalidateSize({ pan: false });
  }

  function panelToggle(map) {
    var button = el("button", "geomap-panel geomap-panel-toggle");
    button.type = "button";
    button.setAttribute("aria-controls", "geomap-side");
    button.addEventListener("click", function () {
      setPanel(map, document.body.classList.contains("geomap-side-closed"));
    });
    state.panelButton = button;
    return button;
  }

  // ---------------------------------------------------------------------------------------
  // Everything, after a document filter change

  function update(map, data, S) {
    S.active = activeUnits(S);
    recount(data, S);
    S.markers.forEach(function (marker, i) {
      var count = S.counts[i];
      var path = marker.getElement();
      if (path) { path.setAttribute("data-count", String(count)); }
      if (count) {
        marker.setRadius(radius(data, count));
      } else if (marker.isPopupOpen()) {
        marker.closePopup();
      }
      if (S.areas[i]) {
        S.areas[i].setStyle({ opacity: count ? 1 : 0, fillOpacity: count ? 0.15 : 0 });
      }
      var row = S.rows && S.rows[i];
      if (row) { row.geomapCount.textContent = String(count); }
    });
    S.edges.forEach(function (line, i) {
      var n = S.edgeCounts[i];
      line.setStyle(n ? { weight: edgeWeight(data, n), opacity: edgeOpacity(data, n) } : { opacity: 0 });
      var path = line.getElement();
      if (path) { path.style.display = n ? "" : "none"; }
    });
    restyleBasemap(S);
    if (S.summaryNode) { S.summaryNode.textContent = S.summary; }
    if (S.applyFilter) { S.applyFilter(); }
    cluster(map, data, S);
    declutter(S);
  }

  // ---------------------------------------------------------------------------------------

  // The attribution control renders HTML; our line is plain text, so escape it first.
  function escapeText(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function mark(name) {
    if (window.performance && window.performance.mark) { window.performance.mark(name); }
  }

  function render(map, dataId) {
    var source = document.getElementById(dataId);
    var data = JSON.parse(source.textContent);
    var S = state = {
      data: data, map: map, counts: [], sentenceCounts: [], docCounts: [], edgeCounts: [], countryCounts: {},
      units: filterUnits(data), active: null, checked: null, range: null,
      choropleth: true, labels: true, areas: {}, edges: [], markers: [], labelled: [], rows: null,
      padTopLeft: L.point(24, 96), padBottomRight: L.point(24, 24), clusters: [], clustered: []
    };
    S.active = S.units.map(function () { return true; });
    recount(data, S);
    var container = map.getContainer();
    L.DomUtil.addClass(container, "geomap-map");
    map.setMinZoom(1);
    map.setMaxZoom(data.tiles ? 18 : 12);
    var refresh = function () { update(map, data, S); };
    sidePanel(map, data, S, refresh);

    if (map.attributionControl) {
      map.attributionControl.setPrefix("Leaflet");
      map.attributionControl.addAttribution(escapeText(data.attribution));
    }
    addBasemap(map, data, S);
    // A small frame (a report column, a notebook cell) starts with legend and layers folded.
    var small = container.clientWidth < 700 || container.clientHeight < 520;
    L.control.scale({ position: "bottomleft", maxWidth: 120 }).addTo(map);
    control("topleft", function () { return titleBox(data, S); }).addTo(map);
    if (data.places.length || data.basemap.length) {
      control("bottomleft", function () { return legendBox(data, !small); }).addTo(map);
    }
    if (!data.places.length) {
      container.appendChild(el("div", "geomap-empty", "No places found"));
    }
    // Fit before adding markers so the label declutter measures the final view; keep the
    // markers clear of the title box (top left) and the legend (bottom left).
    if (data.bounds) {
      var legend = container.querySelector(".geomap-legend");
      var heading = container.querySelector(".geomap-title");
      var left = legend ? Math.min(legend.offsetWidth + 28, container.clientWidth * 0.3) : 48;
      var top = heading ? Math.min(heading.offsetHeight + 34, container.clientHeight * 0.3) : 48;
      map.fitBounds(data.bounds, {
        paddingTopLeft: [left, top], paddingBottomRight: [48, 40], maxZoom: 6, animate: false
      });
    }
    addAreas(map, data, S);
    addEdges(map, data, S);
    addPlaces(map, data, S);

    var overlays = {};
    if (data.basemap.length) {
      overlays["Countries: mentions (choropleth)"] = new Switch(
        function () { S.choropleth = true; restyleBasemap(S); },
        function () { S.choropleth = false; restyleBasemap(S); });
    }
    if (data.edges.length) {
      overlays[data.edgesTotal > data.edges.length
        ? "Co-mentions (top " + data.edges.length + " of " + data.edgesTotal + " pairs)"
        : "Co-mentions (" + plural(data.edges.length, "pair", "pairs") + ")"] = S.edgeLayer;
    }
    if (data.places.length) {
      overlays.Places = S.placeLayer;
      overlays["Labels (top places)"] = new Switch(
        function () { S.labels = true; declutter(S); },
        function () { S.labels = false; declutter(S); });
    }
    Object.keys(overlays).forEach(function (name) {
      if (!map.hasLayer(overlays[name])) { overlays[name].addTo(map); }
    });
    control("topright", function () { return panelToggle(map); }).addTo(map);
    setPanel(map, !document.body.classList.contains("geomap-side-closed"));
    if (Object.keys(overlays).length) {
      L.control.layers(null, overlays, { collapsed: small, position: "topright" }).addTo(map);
    }
    var corner = container.querySelector(".leaflet-top.leaflet-right");
    var heading = container.querySelector(".geomap-title");
    S.padTopLeft.y = Math.min(container.clientHeight * 0.35, 12 + Math.max(
      corner ? corner.offsetHeight : 0, heading ? heading.offsetHeight + 10 : 0));
    update(map, data, S);
    window.geomapReady = true;
    mark("geomap-ready");
    // The frame with the markers is painted after the next animation frame callback.
    if (window.requestAnimationFrame) {
      window.requestAnimationFrame(function () {
        window.setTimeout(function () { window.geomapPainted = true; mark("geomap-painted"); }, 0);
      });
    }
  }

  window.geomap = {
    render: render,
    // For tests and scripts: the drawn state (counts, markers) of the map on this page.
    state: function () { return state; }
  };
}(window, document));
