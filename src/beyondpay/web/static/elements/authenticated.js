// 3-D Secure came back here: tell the merchant's page (this modal frame's parent), and only
// that origin, that the customer is done. The message says nothing else; the element asks
// the API for the payment's outcome.
(function () {
  'use strict';
  var done = document.getElementById('done');
  var origin = done && done.getAttribute('data-origin');
  if (origin && window.parent && window.parent !== window) {
    window.parent.postMessage({ beyondpay: 1, type: 'authenticated' }, origin);
  }
})();
