// Comments with htmx: a refused comment (4xx) still replaces the section, so the form comes back with
// its message and the text as typed; after a swap, focus goes to the new comment or to the message.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (status >= 400 && status < 500 && target && (target.id === "debate" || target.classList.contains("votes"))) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // Only after posting a comment or a reply (not after a vote or a change of order).
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!source || !source.closest || !source.closest(".comment-form")) return;
    var section = document.getElementById("debate");
    if (!section) return;
    var problem = section.querySelector("[role=alert]");
    var focus = section.getAttribute("data-focus");
    var comment = focus ? document.getElementById("comment-" + focus) : null;
    if (problem) {
      var field = problem.closest("form") && problem.closest("form").querySelector("textarea");
      (field || problem).focus();
    } else if (comment) {
      comment.focus();
    }
  });
})();
