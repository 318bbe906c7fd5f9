// Every chart (uPlot) writes its numbers and times as the page's language does, as the server writes them
// (Babel): "3,8" and "7 déc. 2026, 14:05" on a French page, "3.8" and "Dec 7, 2026, 2:05 PM" on an English one.
// uPlot itself writes times in English (month names, month/day order, am/pm) and numbers in the browser's
// language. Loaded right after uPlot, this wraps its constructor: a chart's legend (the values under the cursor)
// and its axes get the page's formats unless the chart gives its own. A chart that gives `timeZone` (the city's,
// with a `tzDate` in it) is written in that zone; other charts with a `tzDate` (days in UTC) in UTC, the others in
// the browser's time zone, as uPlot draws them.
(function () {
  "use strict";
  if (typeof window.uPlot === "undefined" || window.uPlot.citoyenLanguage) return;
  var Original = window.uPlot;
  var language = document.documentElement.lang || "fr";
  var DAY = 86400;

  function formats(zone) {
    function make(options) {
      var all = { timeZone: zone };
      for (var key in options) all[key] = options[key];
      return new Intl.DateTimeFormat(language, all);
    }
    return {
      moment: make({ dateStyle: "medium", timeStyle: "short" }),
      day: make({ day: "numeric", month: "short" }),
      month: make({ month: "short", year: "numeric" }),
      year: make({ year: "numeric" }),
      time: make({ hour: "2-digit", minute: "2-digit" })
    };
  }

  var legendNumber = new Intl.NumberFormat(language, { maximumFractionDigits: 2 });
  var axisNumber = new Intl.NumberFormat(language, { maximumFractionDigits: 6 });

  function numberValue(u, value) { return value == null ? "--" : legendNumber.format(value); }

  function numberTicks(u, splits) {
    return splits.map(function (value) { return value == null ? "" : axisNumber.format(value); });
  }

  function timeValue(dates) {
    return function (u, seconds) { return seconds == null ? "--" : dates.moment.format(new Date(seconds * 1000)); };
  }

  // The x axis's ticks: years, months or days by the step uPlot found, or hours and minutes with the day under
  // the first tick of each day.
  function timeTicks(dates) {
    return function (u, splits, axisIndex, space, step) {
      var previousDay = null;
      return splits.map(function (seconds) {
        if (seconds == null) return "";
        var moment = new Date(seconds * 1000);
        if (step >= 365 * DAY) return dates.year.format(moment);
        if (step >= 28 * DAY) return dates.month.format(moment);
        if (step >= DAY) return dates.day.format(moment);
        var day = dates.day.format(moment);
        var text = dates.time.format(moment);
        if (day !== previousDay) text += "\n" + day;
        previousDay = day;
        return text;
      });
    };
  }

  function Localized(options, data, target) {
    options = options || {};
    var mode = options.mode || 1;
    var xScale = (options.scales || {}).x || {};
    var time = mode === 1 && xScale.time !== false;
    var dates = formats(options.timeZone || (options.tzDate ? "UTC" : undefined));
    delete options.timeZone;
    var series = options.series || [];
    series.forEach(function (one, index) {
      if (!one || one.value !== undefined || one.values !== undefined) return;
      one.value = index === 0 && time ? timeValue(dates) : numberValue;
    });
    if (mode === 1) {
      var axes = options.axes || [{}, {}];
      while (axes.length < 2) axes.push({});
      axes.forEach(function (axis, index) {
        if (!axis || axis.values !== undefined) return;
        axis.values = index === 0 && time ? timeTicks(dates) : numberTicks;
      });
      options.axes = axes;
    }
    return new Original(options, data, target);
  }

  for (var key in Original) {
    if (Object.prototype.hasOwnProperty.call(Original, key)) Localized[key] = Original[key];
  }
  Localized.citoyenLanguage = language;
  window.uPlot = Localized;
})();
