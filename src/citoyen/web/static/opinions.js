// Voting with htmx: a refused vote (4xx) still replaces the voting section, so its message shows; after each
// swap, focus goes to the next statement (or to the message), for keyboard and screen-reader users.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (status >= 400 && status < 500 && target && target.id === "opinion-vote") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var section = document.getElementById("opinion-vote");
    if (!section) return;
    var focus = section.querySelector("[role=alert]") || section.querySelector(".statement") || section.querySelector(".all-voted");
    if (focus) {
      focus.setAttribute("tabindex", "-1");
      focus.focus();
    }
  });
})();
