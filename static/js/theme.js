/* Light or dark: the person's choice in this browser (localStorage "portal-theme": light, dark or
 * auto), else the system's (prefers-color-scheme), applied as Bootstrap 5.3's data-bs-theme on <html>.
 *
 * Loaded in <head> without defer, so the page is painted in its theme from the start. The button
 * #theme-toggle (hidden without JavaScript) cycles auto → light → dark. Pages that draw with the
 * theme's colours (static/js/charts.js) listen for "portal:theme" on document.
 */
(function () {
  "use strict";

  var KEY = "portal-theme";
  var CHOICES = ["auto", "light", "dark"];
  var system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var unsaved = null; // the choice, when the browser keeps no storage (it then holds for this page)

  function choice() {
    var stored = null;
    try {
      stored = window.localStorage.getItem(KEY);
    } catch (error) {
      stored = unsaved;
    }
    return CHOICES.indexOf(stored) === -1 ? "auto" : stored;
  }

  function resolved(chosen) {
    if (chosen === "auto") {
      return system && system.matches ? "dark" : "light";
    }
    return chosen;
  }

  function label(chosen) {
    var button = document.getElementById("theme-toggle");
    if (!button) {
      return;
    }
    var next = CHOICES[(CHOICES.indexOf(chosen) + 1) % CHOICES.length];
    button.hidden = false;
    button.dataset.themeChoice = chosen;
    button.querySelector("[data-theme-label]").textContent = chosen;
    button.setAttribute("aria-label", "Theme: " + chosen + " (" + resolved(chosen) + "). Switch to " + next);
  }

  function apply(chosen) {
    var theme = resolved(chosen);
    var root = document.documentElement;
    var changed = root.getAttribute("data-bs-theme") !== theme;
    root.setAttribute("data-bs-theme", theme);
    label(chosen);
    if (changed) {
      document.dispatchEvent(new CustomEvent("portal:theme", { detail: { theme: theme } }));
    }
  }

  apply(choice());
  if (system && system.addEventListener) {
    system.addEventListener("change", function () {
      apply(choice());
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    label(choice());
    var button = document.getElementById("theme-toggle");
    if (!button) {
      return;
    }
    button.addEventListener("click", function () {
      var next = CHOICES[(CHOICES.indexOf(choice()) + 1) % CHOICES.length];
      try {
        window.localStorage.setItem(KEY, next);
      } catch (error) {
        unsaved = next;
      }
      apply(next);
    });
  });
})();
