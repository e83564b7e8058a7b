/* "Add endpoint" (and any other formset): a progressive enhancement of Django formsets.
 *
 * A button with data-formset-add="PREFIX" appends a copy of <template id="PREFIX-empty-form"> (Django's
 * empty_form, with __prefix__ where the row number goes) to the element with data-formset-rows="PREFIX",
 * and raises PREFIX-TOTAL_FORMS so the server reads the new row. The button is hidden in the HTML and
 * shown here: without JavaScript the formset's blank rows still work.
 */
(function () {
  "use strict";

  function setUp(button) {
    var prefix = button.dataset.formsetAdd;
    var template = document.getElementById(prefix + "-empty-form");
    var rows = document.querySelector('[data-formset-rows="' + prefix + '"]');
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    if (!template || !rows || !total) {
      return;
    }

    function count() {
      return parseInt(total.value, 10) || 0;
    }

    function atMax() {
      return max !== null && max.value !== "" && count() >= parseInt(max.value, 10);
    }

    button.hidden = false;
    button.disabled = atMax();
    button.addEventListener("click", function () {
      if (atMax()) {
        return;
      }
      var index = count();
      var holder = document.createElement("template");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index)).trim();
      var row = holder.content.firstElementChild;
      rows.appendChild(holder.content);
      total.value = String(index + 1);
      button.disabled = atMax();
      var first = row && row.querySelector("input, select, textarea");
      if (first) {
        first.focus();
      }
    });
  }

  function init() {
    document.querySelectorAll("[data-formset-add]").forEach(setUp);
    // Only needed without the button: the hint says to save and edit again for more rows.
    document.querySelectorAll(".formset-no-js-hint").forEach(function (hint) {
      hint.hidden = true;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
