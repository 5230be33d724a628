// newsflow web: the one script (served from this server; pages work without it).
// "/" focuses the search box, as on most search sites; Escape leaves it.
document.addEventListener("keydown", function (ev) {
  var q = document.getElementById("q");
  if (!q) return;
  var t = ev.target, typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
  if (ev.key === "/" && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
    ev.preventDefault();
    q.focus();
    q.select();
  } else if (ev.key === "Escape" && t === q) {
    q.blur();
  }
});
