// Shows the active cut's time and state from /estado.json (CONV-I.10), refreshed every 15 s;
// reloads the framed PREP when a new cut is activated.
"use strict";
(function () {
  var ESTADOS = {
    "publicando": "publicando",
    "aviso": "actualizaciones interrumpidas",
    "cerrado": "publicación cerrada",
    "por-abrir": "la publicación aún no inicia",
    "concluido": "PREP concluido: resultados finales"
  };
  var last = null;

  // "2021-06-06T20:00:00-05:00" -> "06/06/2021 20:00 (UTC-05:00)": the IEC's own clock time.
  function hora(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso || "");
    if (!m) { return iso || "sin corte"; }
    var tz = m[6] === "Z" ? "UTC" : (m[6] ? "UTC" + m[6] : "");
    return m[3] + "/" + m[2] + "/" + m[1] + " " + m[4] + ":" + m[5] + (tz ? " (" + tz + ")" : "");
  }

  function show(e) {
    document.getElementById("corte-hora").textContent = hora(e.corte_fecha_hora);
    document.getElementById("corte-id").textContent = e.corte ? "(" + e.corte + ")" : "";
    document.getElementById("estado").textContent = ESTADOS[e.estado] || e.estado || "";
    document.getElementById("aviso").hidden = e.estado !== "aviso";
    document.getElementById("concluido").hidden = e.estado !== "concluido";
    document.body.setAttribute("data-corte", e.corte || "");
    if (last !== null && e.corte !== last) {
      document.getElementById("prep").src = "/?corte=" + encodeURIComponent(e.corte || "");
    }
    last = e.corte;
  }

  function poll() {
    fetch("/estado.json", { cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(show)
      .catch(function () {
        document.getElementById("corte-hora").textContent = "no disponible";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    poll();
    setInterval(poll, 15000);
  });
})();
