/* The page's time zone: one date format, written in the person's zone.
 *
 * <meta name="time-zone" content="Asia/Kolkata"> names the zone the page was rendered in. The server
 * writes every instant as <time datetime="2026-12-02T13:05:00Z">2 Dec 2026, 18:35 UTC+05:30</time>
 * (lib/times.py); fragments pushed live are rendered once for many viewers, in UTC, so each one
 * applied here (live:applied) has its <time> elements rewritten in this page's zone, with the same
 * format as the server's. window.PortalTime offers the format to other scripts (charts, live stream).
 *
 * While the person has no zone yet, the meta tag carries data-detect-url: the browser's own zone is
 * posted there once (with the page's CSRF token); the server stores it only if none is set by then,
 * and this page is rewritten in it.
 */
(function () {
  "use strict";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var meta = document.querySelector('meta[name="time-zone"]');
  var formatters = {};

  function formatter(zone) {
    if (!formatters[zone]) {
      formatters[zone] = new Intl.DateTimeFormat("en-US", {
        timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
        hour: "numeric", minute: "numeric", second: "numeric",
      });
    }
    return formatters[zone];
  }

  // The wall clock of `ms` in `zone`, as numbers; `offset` in minutes east of UTC.
  function wall(ms, zone) {
    var parts = {};
    formatter(zone).formatToParts(new Date(ms)).forEach(function (part) {
      parts[part.type] = part.value;
    });
    var fields = {
      year: +parts.year, month: +parts.month, day: +parts.day,
      hour: +parts.hour % 24, minute: +parts.minute, second: +parts.second,
    };
    var asUtc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
    fields.offset = Math.round((asUtc - (ms - (((ms % 1000) + 1000) % 1000))) / 60000);
    return fields;
  }

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function offsetLabel(minutes) {
    if (!minutes) {
      return "UTC";
    }
    var abs = Math.abs(minutes);
    return "UTC" + (minutes > 0 ? "+" : "-") + two(Math.floor(abs / 60)) + ":" + two(abs % 60);
  }

  function clockOf(w, seconds) {
    return two(w.hour) + ":" + two(w.minute) + (seconds ? ":" + two(w.second) : "");
  }

  // "2 Dec 2026, 14:05 UTC+01:00", as lib.times.instant_text writes it.
  function format(ms, zone, seconds) {
    var w = wall(ms, zone);
    return w.day + " " + MONTHS[w.month - 1] + " " + w.year + ", " + clockOf(w, seconds) + " " + offsetLabel(w.offset);
  }

  // The time of day alone, "14:05:07 UTC+01:00", for what is always recent (the live indicator).
  function clock(ms, zone) {
    var w = wall(ms, zone);
    return clockOf(w, true) + " " + offsetLabel(w.offset);
  }

  function pageZone() {
    return (meta && meta.content) || "UTC";
  }

  function rewrite(root) {
    var zone = pageZone();
    var elements = root.matches && root.matches("time[datetime]") ? [root] : root.querySelectorAll("time[datetime]");
    Array.prototype.forEach.call(elements, function (element) {
      var ms = Date.parse(element.getAttribute("datetime"));
      if (!isNaN(ms)) {
        element.textContent = format(ms, zone, element.hasAttribute("data-seconds"));
      }
    });
  }

  window.PortalTime = { zone: pageZone, wall: wall, format: format, clock: clock, rewrite: rewrite };

  document.addEventListener("live:applied", function (event) {
    var element = event.detail && event.detail.id ? document.getElementById(event.detail.id) : null;
    if (element) {
      rewrite(element);
    }
  });

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function detect() {
    var url = meta && meta.dataset.detectUrl;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!url || !zone) {
      return;
    }
    var body = new URLSearchParams({ time_zone: zone });
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer && answer.time_zone) {
          delete meta.dataset.detectUrl;
          meta.content = answer.time_zone;
          document.documentElement.dataset.timeZoneDetected = answer.time_zone;
          rewrite(document);
        }
      })
      .catch(function () {});
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", detect);
  } else {
    detect();
  }
})();
