/* Live updates: one EventSource per page on /live/stream/, fragments replace elements by id.
 *
 * Each SSE message carries HTML whose top-level elements have ids. An element already on the page is
 * replaced; a new one is added to the first container named in its data-live-containers that the page
 * has (e.g. a newly started migration on the migrations page). Repeats are harmless.
 * While the stream is down, elements with data-poll-url are refreshed by polling every 3 s.
 * #live-indicator (in the navigation bar) says which: live, reconnecting, or polling since when.
 */
(function () {
  "use strict";

  var anchor = document.getElementById("live-stream");
  if (!anchor) {
    return;
  }
  var POLL_MS = 3000;
  var lastId = anchor.dataset.liveLastId || "";
  var topics = (anchor.dataset.liveTopics || "message").split(",");
  var source = null;
  var pollTimer = null;
  var retryMs = 1000;

  var indicator = document.getElementById("live-indicator");
  var LABELS = { connecting: "Connecting…", up: "Live", reconnecting: "Reconnecting…", polling: "Polling" };
  var lastUpdate = null;

  // The time of day in the page's zone (static/js/time-zone.js, loaded before this file).
  function clock(date) {
    if (window.PortalTime) {
      return window.PortalTime.clock(date.getTime(), window.PortalTime.zone());
    }
    return date.toISOString().slice(11, 19) + " UTC";
  }

  // The page says how current it is: live, reconnecting, or polling with the last update's time.
  function setState(state) {
    document.documentElement.dataset.liveStream = state;
    if (!indicator) {
      return;
    }
    var label = LABELS[state] || state;
    if (state === "polling" && lastUpdate) {
      label += " · updated " + clock(lastUpdate);
    }
    indicator.dataset.state = state;
    indicator.textContent = label;
    indicator.title = lastUpdate ? "Last update " + clock(lastUpdate) : "No update yet";
  }

  function updated() {
    lastUpdate = new Date();
    var state = document.documentElement.dataset.liveStream;
    if (state === "reconnecting" || state === "polling") {
      setState("polling");
    } else if (indicator) {
      indicator.title = "Last update " + clock(lastUpdate);
    }
  }

  // A pushed fragment is shared by the whole partner and carries no CSRF token: its forms get this page's.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function addCsrfToken(fragment) {
    var token = csrfToken();
    var forms = fragment.matches("form") ? [fragment] : fragment.querySelectorAll("form");
    Array.prototype.forEach.call(forms, function (form) {
      if (!token || (form.getAttribute("method") || "").toLowerCase() !== "post" ||
          form.querySelector("input[name=csrfmiddlewaretoken]")) {
        return;
      }
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "csrfmiddlewaretoken";
      input.value = token;
      form.prepend(input);
    });
  }

  // A container that shows a different layout above some number of children (the active migrations:
  // panels, then compact rows) has the page's section reloaded once a pushed child takes it over.
  function reloadWhenFull(container) {
    var limit = parseInt(container.dataset.liveLimit || "", 10);
    var section = container.dataset.liveReload;
    if (!limit || !section || container.children.length <= limit || container.dataset.liveReloading) {
      return;
    }
    container.dataset.liveReloading = "true";
    // The whole page as a plain GET (an htmx request gets a page's partial instead), then its section.
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section);
        var current = document.getElementById(section);
        if (fresh && current) {
          current.replaceWith(fresh);
          addCsrfToken(fresh);
          if (window.htmx) {
            window.htmx.process(fresh);
          }
        }
      })
      .catch(function () {})
      .finally(function () {
        delete container.dataset.liveReloading;
      });
  }

  // What the person set on an element being replaced stays set: each input marked data-live-keep (a
  // VM row's bulk-action checkbox) keeps its checked state in the fresh fragment, matched by name and
  // value, whatever the server rendered.
  function keepState(current, fragment) {
    var kept = current.querySelectorAll("input[data-live-keep]");
    Array.prototype.forEach.call(kept, function (input) {
      var twins = fragment.querySelectorAll("input[data-live-keep]");
      for (var i = 0; i < twins.length; i++) {
        if (twins[i].name === input.name && twins[i].value === input.value) {
          twins[i].checked = input.checked;
        }
      }
    });
  }

  function apply(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    // A top-level <template> carries fragments that must be parsed on their own (a table row after
    // a <div> would be dropped): its children are applied like the others.
    var fragments = [];
    Array.prototype.forEach.call(template.content.children, function (child) {
      if (child.tagName === "TEMPLATE") {
        Array.prototype.push.apply(fragments, child.content.children);
      } else {
        fragments.push(child);
      }
    });
    fragments.forEach(function (fragment) {
      fragment.removeAttribute("hx-swap-oob");
      if (!fragment.id) {
        return;
      }
      addCsrfToken(fragment);
      var current = document.getElementById(fragment.id);
      if (current) {
        keepState(current, fragment);
        current.replaceWith(fragment);
      } else {
        var names = (fragment.dataset.liveContainers || "").split(/\s+/);
        var container = null;
        for (var i = 0; i < names.length && !container; i++) {
          container = names[i] ? document.getElementById(names[i]) : null;
        }
        if (!container) {
          return;
        }
        container.prepend(fragment);
        var empty = container.querySelector("[data-live-empty]");
        if (empty) {
          empty.remove();
        }
        reloadWhenFull(container);
      }
      if (window.htmx) {
        window.htmx.process(fragment);
      }
      document.dispatchEvent(new CustomEvent("live:applied", { detail: { id: fragment.id } }));
    });
    updated();
  }

  function poll() {
    var targets = document.querySelectorAll("[data-poll-url]");
    if (!targets.length) {
      // Nothing on this page polls: a poll round is still an update of what it shows (nothing).
      updated();
    }
    Array.prototype.forEach.call(targets, function (element) {
      fetch(element.dataset.pollUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(function (html) {
          if (html) {
            apply(html);
          }
        })
        .catch(function () {});
    });
  }

  function startPolling() {
    if (pollTimer === null) {
      pollTimer = window.setInterval(poll, POLL_MS);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function connect() {
    if (!window.EventSource) {
      setState("polling");
      startPolling();
      return;
    }
    var url = anchor.dataset.liveUrl;
    if (lastId) {
      url += (url.indexOf("?") === -1 ? "?" : "&") + "last_event_id=" + encodeURIComponent(lastId);
    }
    source = new EventSource(url);
    source.onopen = function () {
      retryMs = 1000;
      setState("up");
      stopPolling();
    };
    source.onerror = function () {
      // Reconnecting until the first poll round has refreshed the page, then polling (and a retry of
      // the stream that fails again leaves it polling).
      if (document.documentElement.dataset.liveStream !== "polling") {
        setState("reconnecting");
      }
      startPolling();
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an error status): reconnect ourselves, resuming after lastId.
        window.setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    };
    topics.forEach(function (topic) {
      source.addEventListener(topic.trim(), function (event) {
        if (event.lastEventId) {
          lastId = event.lastEventId;
        }
        apply(event.data);
        // Pages that derive something from a topic listen for it (the VM list's counts: live-fleet).
        document.dispatchEvent(new CustomEvent("live-" + topic.trim()));
      });
    });
  }

  setState("connecting");
  connect();
})();
