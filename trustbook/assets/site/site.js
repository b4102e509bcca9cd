// Click an image of a notebook page to see it at full size; a click or Escape closes it.
document.addEventListener("click", function (e) {
  var img = e.target.closest && e.target.closest(".jupyter-wrapper img");
  if (!img) return;
  var zoom = document.createElement("div");
  zoom.className = "tb-zoom";
  var big = document.createElement("img");
  big.src = img.src; big.alt = img.alt || "";
  zoom.appendChild(big);
  function close() { zoom.remove(); document.removeEventListener("keydown", onkey); }
  function onkey(k) { if (k.key === "Escape") close(); }
  zoom.addEventListener("click", close);
  document.addEventListener("keydown", onkey);
  document.body.appendChild(zoom);
});
