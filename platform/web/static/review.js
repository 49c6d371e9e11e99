// Reviewer workspace: a live weighted score while scoring the rubric. No page needs it to work.
(function () {
  "use strict";
  var form = document.getElementById("rubric-form");
  var out = document.getElementById("live-total");
  if (!form || !out) { return; }
  function update() {
    var total = 0, weight = 0;
    form.querySelectorAll("fieldset.criterion").forEach(function (set) {
      var picked = set.querySelector("input[type=radio]:checked");
      var w = parseFloat(set.getAttribute("data-weight")) || 1;
      if (picked) { total += w * parseInt(picked.value, 10); weight += w; }
    });
    out.textContent = weight ? (Math.round(total / weight * 100) / 100).toString() : "–";
  }
  form.addEventListener("change", update);
  update();
}());
