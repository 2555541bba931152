// After a form posts, focus moves to the message that answers it (WCAG 2.1: the answer is read
// out first, and the next Tab starts from it). The page's first alert, the one the redirect after
// the post brought, becomes focusable (tabindex="-1": by script, never by Tab) and takes the focus.
// Loaded as a file: the Content-Security-Policy allows only the site's own scripts.
(function () {
  "use strict";

  function focusAnswer() {
    var answer = document.querySelector("main [role=\"alert\"]");
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
