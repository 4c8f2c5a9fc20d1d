// The access report's "print" button (no inline handlers: the CSP forbids them). Without
// JavaScript the browser's own print command gives the same printable page.
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
