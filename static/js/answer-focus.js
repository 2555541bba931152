// After a form posts, focus moves to the message that answers it (WCAG 2.1: the answer is read
// out first, and the next Tab starts from it). Loaded by templates/base.html on every page, as a
// file: the Content-Security-Policy allows only the site's own scripts.
//
// The answer is, in this order:
// * the first message the redirect after the post brought (base.html marks them data-answer);
// * on a page rendered by the post itself (a form sent back with its errors: <main data-posted>),
//   the first alert or field error in the main content.
// It becomes focusable by script only (tabindex="-1", never by Tab) and takes the focus. A page
// reached by a plain link has no answer: the focus stays at the top, where the skip link is the
// first thing Tab reaches.
(function () {
  "use strict";

  var ERRORS = "[role=\"alert\"], .alert-danger, .invalid-feedback, .field-error, .errorlist";

  function answerOf(doc) {
    var answer = doc.querySelector("[data-answer]");
    if (answer) {
      return answer;
    }
    var main = doc.querySelector("main[data-posted]");
    return main ? main.querySelector(ERRORS) : null;
  }

  function focusAnswer() {
    var answer = answerOf(document);
    if (!answer) {
      return;
    }
    if (!answer.hasAttribute("tabindex")) {
      answer.setAttribute("tabindex", "-1");
    }
    answer.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusAnswer);
  } else {
    focusAnswer();
  }
})();
