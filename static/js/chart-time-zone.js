/* Chart.js time axes in the person's zone, not the browser's.
 *
 * The vendored chartjs-adapter-date-fns places and labels ticks in the browser's own zone (date-fns
 * works on local time). This replaces the adapter's methods with ones that work on the wall clock of
 * the zone given as `options.adapters.date.timeZone` (default: the page's zone, static/js/time-zone.js):
 * hour and day ticks fall on that zone's hours and midnights, labels and tooltips are written with
 * Intl in it, in the portal's one format. Load after Chart.js and its date adapter, before charts.js.
 *
 * Formats are names, not patterns: "time" (14:05), "time-seconds", "day" (2 Dec), "month" (Dec 2026),
 * "year", "datetime" (2 Dec 2026, 14:05 UTC+05:30).
 */
(function () {
  "use strict";

  var Chart = window.Chart;
  var T = window.PortalTime;
  if (!Chart || !Chart._adapters || !Chart._adapters._date || !T) {
    return;
  }
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var FIXED = { millisecond: 1, second: 1000, minute: 60000, hour: 3600000 };
  var DAY = 86400000;
  var FORMATS = {
    datetime: "datetime", millisecond: "time-seconds", second: "time-seconds", minute: "time",
    hour: "time", day: "day", week: "day", month: "month", quarter: "month", year: "year",
  };

  function zoneOf(adapter) {
    return (adapter.options && adapter.options.timeZone) || T.zone();
  }

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // The instant at which the zone's wall clock reads these fields (overflowing fields roll over).
  function fromWall(f, zone) {
    var asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour || 0, f.minute || 0, f.second || 0, f.ms || 0);
    var guess = asUtc - T.wall(asUtc, zone).offset * 60000;
    return asUtc - T.wall(guess, zone).offset * 60000;
  }

  function wallOf(ms, zone) {
    var w = T.wall(ms, zone);
    w.ms = ((ms % 1000) + 1000) % 1000;
    return w;
  }

  function wallDays(w) {
    return Date.UTC(w.year, w.month - 1, w.day) / DAY;
  }

  function months(max, min, zone) {
    var a = wallOf(max, zone);
    var b = wallOf(min, zone);
    var count = (a.year - b.year) * 12 + (a.month - b.month);
    var restA = Date.UTC(2000, 0, a.day, a.hour, a.minute, a.second, a.ms);
    var restB = Date.UTC(2000, 0, b.day, b.hour, b.minute, b.second, b.ms);
    if (count > 0 && restA < restB) {
      count -= 1;
    } else if (count < 0 && restA > restB) {
      count += 1;
    }
    return count;
  }

  Chart._adapters._date.override({
    formats: function () {
      return FORMATS;
    },

    parse: function (value) {
      if (value === null || value === undefined) {
        return null;
      }
      var ms = typeof value === "number" ? value : value instanceof Date ? value.getTime() : Date.parse(value);
      return isNaN(ms) ? null : ms;
    },

    format: function (time, format) {
      var zone = zoneOf(this);
      var w = wallOf(time, zone);
      switch (format) {
        case "time":
          return two(w.hour) + ":" + two(w.minute);
        case "time-seconds":
          return two(w.hour) + ":" + two(w.minute) + ":" + two(w.second);
        case "day":
          return w.day + " " + MONTHS[w.month - 1];
        case "month":
          return MONTHS[w.month - 1] + " " + w.year;
        case "year":
          return String(w.year);
        default:
          return T.format(time, zone, false);
      }
    },

    add: function (time, amount, unit) {
      if (FIXED[unit]) {
        return time + amount * FIXED[unit];
      }
      var zone = zoneOf(this);
      var w = wallOf(time, zone);
      if (unit === "day" || unit === "week") {
        w.day += amount * (unit === "week" ? 7 : 1);
      } else if (unit === "month" || unit === "quarter") {
        w.month += amount * (unit === "quarter" ? 3 : 1);
      } else if (unit === "year") {
        w.year += amount;
      } else {
        return time;
      }
      return fromWall(w, zone);
    },

    diff: function (max, min, unit) {
      if (FIXED[unit]) {
        return Math.trunc((max - min) / FIXED[unit]);
      }
      var zone = zoneOf(this);
      if (unit === "day" || unit === "week") {
        var a = wallOf(max, zone);
        var b = wallOf(min, zone);
        var days = wallDays(a) - wallDays(b);
        var restA = ((a.hour * 60 + a.minute) * 60 + a.second) * 1000 + a.ms;
        var restB = ((b.hour * 60 + b.minute) * 60 + b.second) * 1000 + b.ms;
        if (days > 0 && restA < restB) {
          days -= 1;
        } else if (days < 0 && restA > restB) {
          days += 1;
        }
        return unit === "week" ? Math.trunc(days / 7) : days;
      }
      var count = months(max, min, zone);
      return unit === "quarter" ? Math.trunc(count / 3) : unit === "year" ? Math.trunc(count / 12) : count;
    },

    startOf: function (time, unit, weekday) {
      if (unit === "millisecond") {
        return time;
      }
      if (unit === "second" || unit === "minute") {
        return time - (((time % FIXED[unit]) + FIXED[unit]) % FIXED[unit]);
      }
      var zone = zoneOf(this);
      var w = wallOf(time, zone);
      var start = { year: w.year, month: w.month, day: w.day, hour: w.hour };
      if (unit !== "hour") {
        start.hour = 0;
      }
      if (unit === "week" || unit === "isoWeek") {
        var first = unit === "isoWeek" ? +weekday || 0 : 0;
        var today = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
        start.day -= (today - first + 7) % 7;
      } else if (unit === "month" || unit === "quarter" || unit === "year") {
        start.day = 1;
        if (unit === "quarter") {
          start.month = Math.floor((w.month - 1) / 3) * 3 + 1;
        } else if (unit === "year") {
          start.month = 1;
        }
      }
      return fromWall(start, zone);
    },

    endOf: function (time, unit) {
      var base = unit === "isoWeek" ? "week" : unit;
      return this.add(this.startOf(time, unit), 1, base) - 1;
    },
  });
})();
