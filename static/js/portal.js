/* The layout's part of every htmx request: people see that it runs, what failed, and keep their place.
 *
 * - Progress: a request someone started (a click, a change, typing, a submit; not a poll or a live
 *   refresh) shows #page-progress and marks its target aria-busy until it ends.
 * - Failure: htmx:responseError and htmx:sendError show a toast in #request-errors saying what failed,
 *   with Retry (the same request again, from the same element) and Close.
 * - Focus: when a swap replaces the control that had focus (a sort link, a status pill, a page link),
 *   focus goes to the same control in the new content instead of dropping to <body>.
 * - Open sections stay open: a .collapse shown in a swapped region (the VM list's filters on a phone)
 *   is shown again in the new content.
 * - A plain POST form (no htmx) is submitted once: its submit buttons are disabled once it is sent.
 *   htmx forms use hx-disabled-elt for the same.
 */
(function () {
  "use strict";

  var USER_EVENTS = ["click", "change", "input", "keyup", "search", "submit"];
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
  var busy = 0;

  function startedBySomeone(detail) {
    var event = detail.requestConfig && detail.requestConfig.triggeringEvent;
    return Boolean(event && USER_EVENTS.indexOf(event.type) !== -1);
  }

  // --- progress -------------------------------------------------------------------------------------

  function setBusy(delta) {
    busy = Math.max(busy + delta, 0);
    document.documentElement.classList.toggle("portal-busy", busy > 0);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!startedBySomeone(event.detail)) {
      return;
    }
    event.detail.elt.dataset.portalBusy = "true";
    setBusy(1);
    if (event.detail.target) {
      event.detail.target.setAttribute("aria-busy", "true");
    }
    rememberFocus(event.detail);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.dataset.portalBusy) {
      delete elt.dataset.portalBusy;
      setBusy(-1);
    }
    if (event.detail.target) {
      event.detail.target.removeAttribute("aria-busy");
    }
  });

  // --- failures -------------------------------------------------------------------------------------

  function toastFor(detail, text) {
    var region = document.getElementById("request-errors");
    if (!region) {
      return;
    }
    var config = detail.requestConfig || {};
    var verb = (config.verb || "get").toUpperCase();
    var path = config.path || "";
    var key = verb + " " + path;
    Array.prototype.forEach.call(region.querySelectorAll(".toast"), function (old) {
      if (old.dataset.request === key) {
        old.remove();
      }
    });

    var toast = document.createElement("div");
    toast.className = "toast show align-items-center text-bg-danger border-0";
    toast.setAttribute("role", "alert");
    toast.setAttribute("aria-atomic", "true");
    toast.dataset.request = key;
    var row = document.createElement("div");
    row.className = "d-flex align-items-center gap-2 p-2";
    var message = document.createElement("div");
    message.className = "toast-body me-auto p-1";
    message.textContent = text;
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "btn btn-light btn-sm";
    retry.textContent = "Retry";
    retry.dataset.retry = "";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white";
    close.setAttribute("aria-label", "Close");
    row.append(message, retry, close);
    toast.append(row);
    region.append(toast);

    var source = detail.elt;
    var target = detail.target;
    retry.addEventListener("click", function () {
      toast.remove();
      var context = { source: source.isConnected ? source : document.body };
      if (target && target.isConnected) {
        context.target = target;
      }
      window.htmx.ajax(verb, path, context);
    });
    close.addEventListener("click", function () {
      toast.remove();
    });
    retry.focus({ preventScroll: true });
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status + (xhr.statusText ? " " + xhr.statusText : "") : "an error";
    toastFor(event.detail, "That didn't work: the portal answered " + status + ".");
  });

  document.addEventListener("htmx:sendError", function (event) {
    toastFor(event.detail, "That didn't work: the portal did not answer. Check the connection.");
  });

  // --- focus ----------------------------------------------------------------------------------------

  var focusWanted = null;

  // How to find the same control in new content: by id, name, a data- attribute that names it, rel,
  // else its position among the focusable controls of the swapped region.
  function describe(control, region) {
    if (control.id) {
      return "#" + CSS.escape(control.id);
    }
    var attributes = ["name", "data-sort", "data-status", "data-action", "data-range", "rel"];
    for (var i = 0; i < attributes.length; i++) {
      var value = control.getAttribute(attributes[i]);
      if (value !== null) {
        return control.tagName.toLowerCase() + "[" + attributes[i] + '="' + CSS.escape(value) + '"]';
      }
    }
    var all = Array.prototype.slice.call(region.querySelectorAll(FOCUSABLE));
    return { index: all.indexOf(control) };
  }

  function rememberFocus(detail) {
    var active = document.activeElement;
    var region = detail.target;
    focusWanted = null;
    if (!active || active === document.body || !region || !region.contains(active)) {
      return;
    }
    focusWanted = { regionId: region.id, control: describe(active, region) };
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (!focusWanted) {
      return;
    }
    var wanted = focusWanted;
    focusWanted = null;
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) {
      return; // htmx kept it (a control with an id), or the person moved on
    }
    var region = (wanted.regionId && document.getElementById(wanted.regionId)) || document.body;
    var control = null;
    if (typeof wanted.control === "string") {
      control = region.querySelector(wanted.control) || document.querySelector(wanted.control);
    } else if (wanted.control.index >= 0) {
      control = region.querySelectorAll(FOCUSABLE)[wanted.control.index] || null;
    }
    if (control) {
      control.focus();
    }
  });

  // --- open sections stay open ------------------------------------------------------------------------

  // Which sections are open (or opening) is kept here, as Bootstrap reports it, and put back on new content.
  var open = {};
  document.addEventListener("show.bs.collapse", function (event) {
    if (event.target.id) {
      open[event.target.id] = true;
    }
  });
  document.addEventListener("hide.bs.collapse", function (event) {
    delete open[event.target.id];
  });

  function reopen() {
    Object.keys(open).forEach(function (id) {
      var section = document.getElementById(id);
      if (!section || section.classList.contains("show") || section.classList.contains("collapsing")) {
        return;
      }
      section.classList.add("show");
      document.querySelectorAll('[data-bs-target="#' + CSS.escape(id) + '"]').forEach(function (toggle) {
        toggle.setAttribute("aria-expanded", "true");
        toggle.classList.remove("collapsed");
      });
    });
  }

  // After the swap and again after the settle: htmx puts the old element's attributes back until then.
  document.addEventListener("htmx:afterSwap", reopen);
  document.addEventListener("htmx:afterSettle", reopen);

  // --- plain forms: sent once ------------------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post" ||
        form.hasAttribute("hx-post")) {
      return;
    }
    // After the submit has read the button's name and value.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], input[type=submit], button:not([type])").forEach(function (button) {
        if (!button.disabled) {
          button.disabled = true;
          button.dataset.portalSent = "true";
        }
      });
    }, 0);
  });

  // Back to a page from the browser's cache: its forms can be sent again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      document.querySelectorAll("[data-portal-sent]").forEach(function (button) {
        button.disabled = false;
        delete button.dataset.portalSent;
      });
    }
  });
})();
