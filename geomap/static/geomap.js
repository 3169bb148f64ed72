/* geomap map runtime, inlined into every map page by geomap/render.py.
 *
 * Builds the basemap, one circle marker per place, popups, labels and the map furniture from
 * the page's single JSON payload (a script element of type application/json). Every string
 * is untrusted article text or metadata: it reaches the DOM only through textContent or
 * createTextNode, never as HTML, so markup, ${...} and {{ ... }} in an article stay literal.
 * Leaflet takes [lat, lon]; the payload already holds places in that order.
 */
(function (window, document) {
  "use strict";

  var L = window.L;
  // Same test as the Python side: only web links become <a href>, never javascript: and co.
  var WEB_URL = /^https?:\/\//i;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
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

  function documentHeader(doc) {
    var head = el("div", "geomap-doc-head");
    var label;
    if (typeof doc.url === "string" && WEB_URL.test(doc.url)) {
      label = el("a", "geomap-doc-title", doc.label);
      label.setAttribute("href", doc.url);
      label.setAttribute("target", "_blank");
      label.setAttribute("rel", "noopener noreferrer");
    } else {
      label = el("span", "geomap-doc-title", doc.label);
    }
    head.appendChild(label);
    if (doc.meta) { head.appendChild(el("span", "geomap-doc-meta", " \u2014 " + doc.meta)); }
    return head;
  }

  // Built on first opening only, so a map of hundreds of places keeps a small DOM.
  function placePopup(data, place) {
    var root = el("div", "geomap-popup");
    var head = el("div", "geomap-popup-head");
    head.appendChild(el("strong", null, place.name));
    head.appendChild(document.createTextNode(
      " \u00b7 " + place.kind + " \u00b7 " + plural(place.count, "mention", "mentions")));
    root.appendChild(head);
    if (place.forms.length) {
      root.appendChild(el("div", "geomap-popup-forms", "As written: " + place.forms.join(", ")));
    }
    if (place.note) { root.appendChild(el("div", "geomap-popup-note", place.note)); }
    var list = null;
    var lastDoc = -1;
    place.sentences.forEach(function (ref) {
      var sentence = data.sentences[ref[0]];
      if (sentence[0] !== lastDoc) {
        lastDoc = sentence[0];
        var section = el("div", "geomap-doc");
        section.appendChild(documentHeader(data.documents[lastDoc]));
        list = el("ul", "geomap-sentences");
        section.appendChild(list);
        root.appendChild(section);
      }
      list.appendChild(markedSentence(sentence[1], ref[1]));
    });
    if (place.more > 0) {
      root.appendChild(el("div", "geomap-popup-more",
        "and " + plural(place.more, "more sentence", "more sentences")));
    }
    return root;
  }

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

  function titleBox(data) {
    var box = el("div", "geomap-panel geomap-title");
    box.appendChild(el("div", "geomap-title-text", data.title));
    box.appendChild(el("div", "geomap-title-counts", data.counts));
    data.notes.forEach(function (note) { box.appendChild(el("div", "geomap-title-note", note)); });
    return box;
  }

  function legendBox(data) {
    var box = el("div", "geomap-panel geomap-legend");
    box.appendChild(el("div", "geomap-legend-head", "Place type"));
    data.legend.kinds.forEach(function (kind) {
      var row = el("div", "geomap-legend-row");
      var swatch = el("span", "geomap-swatch");
      swatch.style.backgroundColor = data.colors[kind];
      row.appendChild(swatch);
      row.appendChild(el("span", "geomap-legend-label", kind));
      box.appendChild(row);
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
    return box;
  }

  function addBasemap(map, data) {
    if (!data.basemap || !data.basemap.length) { return; }
    // Own pane between tiles (200) and overlays (400); canvas, as ~250 countries of
    // non-interactive polygons draw faster there than as SVG paths.
    var pane = map.createPane("geomapBasemap");
    pane.style.zIndex = 250;
    pane.style.pointerEvents = "none";
    L.geoJSON(data.basemap, {
      pane: "geomapBasemap",
      renderer: L.canvas({ pane: "geomapBasemap", padding: 0.5 }),
      interactive: false,
      style: data.tiles
        ? { color: "#6b6b6b", weight: 0.6, opacity: 0.6, fill: false }
        : { color: "#b9b2a5", weight: 0.7, opacity: 1, fillColor: "#f6f4ee", fillOpacity: 1 }
    }).addTo(map);
  }

  // Hides permanent labels that overlap a label of a more-mentioned place.
  function declutter(labelled) {
    var kept = [];
    labelled.forEach(function (marker) {
      var tip = marker.getTooltip();
      var node = tip && tip.getElement();
      if (!node) { return; }
      node.style.visibility = "";
      var box = node.getBoundingClientRect();
      var clash = kept.some(function (k) {
        return box.left < k.right && box.right > k.left && box.top < k.bottom && box.bottom > k.top;
      });
      if (clash) { node.style.visibility = "hidden"; } else { kept.push(box); }
    });
  }

  function addPlaces(map, data) {
    var layer = L.featureGroup();
    var labelled = [];
    data.places.forEach(function (place) {
      var marker = L.circleMarker(place.latlon, {
        radius: place.r,
        color: "#ffffff",
        weight: 1.5,
        opacity: 1,
        fillColor: data.colors[place.kind],
        fillOpacity: 0.85,
        className: "geomap-place geomap-place-" + place.kind,
        bubblingMouseEvents: false
      });
      marker.bindPopup(function () { return placePopup(data, place); }, {
        className: "geomap-popup-frame",
        maxWidth: 380,
        minWidth: 240,
        maxHeight: 340,
        autoPanPaddingTopLeft: L.point(24, 96),
        autoPanPaddingBottomRight: L.point(24, 24)
      });
      var name = el("span", null, place.name);
      if (place.label) {
        marker.bindTooltip(name, {
          permanent: true, direction: "right", offset: [place.r - 2, 0],
          className: "geomap-label", opacity: 1
        });
        labelled.push(marker);
      } else {
        marker.bindTooltip(name, {
          direction: "top", offset: [0, -place.r], className: "geomap-tooltip", opacity: 1
        });
      }
      marker.on("mouseover", function () { marker.setStyle({ color: "#1d2731", weight: 2 }); });
      marker.on("mouseout", function () { marker.setStyle({ color: "#ffffff", weight: 1.5 }); });
      marker.addTo(layer);
    });
    layer.addTo(map);
    // Paths exist only once on the map: name them for screen readers (a DOM attribute, not HTML).
    layer.eachLayer(function (marker) {
      var path = marker.getElement();
      if (path) { path.setAttribute("aria-label", marker.getTooltip().getContent().textContent); }
    });
    if (labelled.length) {
      map.on("zoomend moveend", function () { declutter(labelled); });
      declutter(labelled);
    }
    return layer;
  }

  // The attribution control renders HTML; our line is plain text, so escape it first.
  function escapeText(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function render(map, dataId) {
    var source = document.getElementById(dataId);
    var data = JSON.parse(source.textContent);
    var container = map.getContainer();
    L.DomUtil.addClass(container, "geomap-map");
    map.setMinZoom(1);
    map.setMaxZoom(data.tiles ? 18 : 12);

    if (map.attributionControl) {
      map.attributionControl.setPrefix("Leaflet");
      map.attributionControl.addAttribution(escapeText(data.attribution));
    }
    addBasemap(map, data);
    L.control.scale({ position: "bottomleft", maxWidth: 120 }).addTo(map);
    control("topleft", function () { return titleBox(data); }).addTo(map);
    if (data.places.length) {
      control("bottomleft", function () { return legendBox(data); }).addTo(map);
    } else {
      container.appendChild(el("div", "geomap-empty", "No places found"));
    }
    // Fit before adding markers so the label declutter measures the final view.
    if (data.bounds) {
      map.fitBounds(data.bounds, {
        paddingTopLeft: [48, 110], paddingBottomRight: [48, 48], maxZoom: 6, animate: false
      });
    }
    addPlaces(map, data);
  }

  window.geomap = { render: render };
}(window, document));
