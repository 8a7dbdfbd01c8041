// The card element's frame, on the platform's origin. The card's digits stay in this frame:
// they go to the platform's API (same origin) in a request body, and nowhere else — never to
// the merchant's page, never into a URL, a message or the console.
//
// The merchant's page (its origin is given by the script that mounted us, in data-origin)
// sends requests by postMessage; every message is checked: from our parent window, from that
// origin, naming this frame. Answers go to that origin only, and hold what the API answered.
(function () {
  'use strict';

  var form = document.getElementById('card');
  var KEY = form.getAttribute('data-key');
  var ORIGIN = form.getAttribute('data-origin');
  var FRAME = form.getAttribute('data-frame');
  var number = document.getElementById('number');
  var expiry = document.getElementById('expiry');
  var cvc = document.getElementById('cvc');
  var problem = document.getElementById('problem');
  var NUMBER_DIGITS_MIN = 12;
  var NUMBER_DIGITS_MAX = 19;
  var REQUEST_TIMEOUT_MS = 30000;
  var touched = { number: false, expiry: false, cvc: false };

  function send(message) {
    message.beyondpay = 1;
    message.frame = FRAME;
    window.parent.postMessage(message, ORIGIN);
  }

  function digits(value) {
    return value.replace(/\D/g, '');
  }

  function luhn(text) {
    var sum = 0;
    for (var i = 0; i < text.length; i += 1) {
      var digit = text.charCodeAt(text.length - 1 - i) - 48;
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) digit -= 9;
      }
      sum += digit;
    }
    return sum % 10 === 0;
  }

  function expiryParts() {
    var text = digits(expiry.value);
    return { month: parseInt(text.slice(0, 2), 10), year: parseInt(text.slice(2, 4), 10), length: text.length };
  }

  // Each field's problem, or '' when it is complete and plausible. The API checks again.
  function numberProblem() {
    var text = digits(number.value);
    if (!text) return 'Enter your card number.';
    if (text.length < NUMBER_DIGITS_MIN || text.length > NUMBER_DIGITS_MAX || !luhn(text)) {
      return 'Your card number is incorrect.';
    }
    return '';
  }

  function expiryProblem() {
    var parts = expiryParts();
    if (parts.length === 0) return 'Enter your card\u2019s expiry date.';
    if (parts.length !== 4 || !(parts.month >= 1 && parts.month <= 12)) {
      return 'Your card\u2019s expiry date is incomplete.';
    }
    var now = new Date();
    var year = 2000 + parts.year;
    if (year < now.getFullYear() || (year === now.getFullYear() && parts.month < now.getMonth() + 1)) {
      return 'Your card\u2019s expiry date is in the past.';
    }
    return '';
  }

  function cvcProblem() {
    var text = digits(cvc.value);
    if (text.length < 3) return 'Your card\u2019s security code is incomplete.';
    return '';
  }

  var CHECKS = [[number, 'number', numberProblem], [expiry, 'expiry', expiryProblem], [cvc, 'cvc', cvcProblem]];

  function show(message) {
    problem.textContent = message || '';
    resize();
  }

  function check(all) {
    var first = '';
    for (var i = 0; i < CHECKS.length; i += 1) {
      var field = CHECKS[i];
      var found = field[2]();
      var shown = all || touched[field[1]] ? found : '';
      field[0].setAttribute('aria-invalid', shown ? 'true' : 'false');
      if (shown && !first) first = shown;
    }
    show(first);
    return first;
  }

  function complete() {
    return !numberProblem() && !expiryProblem() && !cvcProblem();
  }

  function empty() {
    return !number.value && !expiry.value && !cvc.value;
  }

  function changed() {
    var shown = check(false);
    send({ type: 'change', complete: complete(), empty: empty(), error: shown ? { message: shown } : null });
  }

  number.addEventListener('input', function () {
    var text = digits(number.value).slice(0, NUMBER_DIGITS_MAX);
    number.value = text.replace(/(\d{4})(?=\d)/g, '$1 ');
    changed();
  });
  expiry.addEventListener('input', function () {
    var text = digits(expiry.value).slice(0, 4);
    if (text.length === 1 && text > '1') text = '0' + text;
    expiry.value = text.length > 2 ? text.slice(0, 2) + ' / ' + text.slice(2) : text;
    changed();
  });
  cvc.addEventListener('input', function () {
    cvc.value = digits(cvc.value).slice(0, 4);
    changed();
  });
  CHECKS.forEach(function (field) {
    field[0].addEventListener('blur', function () {
      if (field[0].value) touched[field[1]] = true;
      changed();
    });
    field[0].addEventListener('focus', function () { send({ type: 'focus' }); });
    // A form of three text fields and no button is never submitted by Enter: say it instead.
    field[0].addEventListener('keydown', function (event) {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      send({ type: 'submit' });
    });
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    send({ type: 'submit' });
  });

  function resize() {
    send({ type: 'resize', height: Math.ceil(document.documentElement.getBoundingClientRect().height) });
  }

  // ---- the API, with the publishable key ------------------------------------------------------

  function encode(params, prefix, out) {
    Object.keys(params).forEach(function (name) {
      var value = params[name];
      var key = prefix ? prefix + '[' + name + ']' : name;
      if (value === null || value === undefined) return;
      if (typeof value === 'object') {
        encode(value, key, out);
      } else {
        out.push(encodeURIComponent(key) + '=' + encodeURIComponent(String(value)));
      }
    });
    return out;
  }

  function idempotencyKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return 'element-' + Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function api(method, path, params, query) {
    var headers = { Authorization: 'Bearer ' + KEY };
    var init = { method: method, headers: headers, credentials: 'omit', cache: 'no-store' };
    if (method === 'POST') {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Idempotency-Key'] = idempotencyKey();
      init.body = encode(params, '', []).join('&');
    }
    var url = path + (query ? '?' + encode(query, '', []).join('&') : '');
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    if (controller) {
      init.signal = controller.signal;
      setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    }
    return fetch(url, init).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      });
    }).catch(function () {
      return { ok: false, body: { error: { type: 'api_connection_error', message: 'The payment service could not be reached. Check your connection and try again.' } } };
    });
  }

  function card() {
    var parts = expiryParts();
    return {
      number: digits(number.value),
      exp_month: parts.month,
      exp_year: 2000 + parts.year,
      cvc: digits(cvc.value)
    };
  }

  function invalid() {
    var found = check(true);
    if (!found) return null;
    return { error: { type: 'validation_error', message: found } };
  }

  function errorOf(answer) {
    var error = answer.body && answer.body.error ? answer.body.error : { type: 'api_error', message: 'The payment could not be completed.' };
    var kept = {};
    ['type', 'code', 'decline_code', 'message', 'param', 'payment_intent', 'payment_method'].forEach(function (name) {
      if (error[name] !== undefined) kept[name] = error[name];
    });
    return kept;
  }

  function createPaymentMethod(request) {
    var refused = invalid();
    if (refused) return Promise.resolve(refused);
    var params = { type: 'card', card: card() };
    if (request.billing_details) params.billing_details = request.billing_details;
    return api('POST', '/v1/payment_methods', params).then(function (answer) {
      return answer.ok ? { paymentMethod: answer.body } : { error: errorOf(answer) };
    });
  }

  // A client secret names its intent: pi_…_secret_… (a PaymentIntent), seti_…_secret_… (a
  // SetupIntent). KINDS gives each its API path and the key its answer is given under.
  var KINDS = {
    payment: { prefix: 'pi', path: '/v1/payment_intents/', answer: 'paymentIntent', name: 'PaymentIntent' },
    setup: { prefix: 'seti', path: '/v1/setup_intents/', answer: 'setupIntent', name: 'SetupIntent' }
  };

  function intentId(clientSecret, kind) {
    var id = String(clientSecret || '').split('_secret_')[0];
    return new RegExp('^' + kind.prefix + '_[A-Za-z0-9]+$').test(id) ? id : null;
  }

  function notASecret(kind) {
    return { error: { type: 'invalid_request_error', param: 'client_secret', message: 'That is not a ' + kind.name + '\u2019s client secret.' } };
  }

  function answered(kind) {
    return function (answer) {
      var result = {};
      if (answer.ok) {
        result[kind.answer] = answer.body;
      } else {
        result.error = errorOf(answer);
      }
      return result;
    };
  }

  function confirm(kind, request) {
    var id = intentId(request.clientSecret, kind);
    if (!id) return Promise.resolve(notASecret(kind));
    var params = {
      client_secret: request.clientSecret,
      return_url: window.location.origin + '/elements/authenticated?origin=' + encodeURIComponent(ORIGIN)
    };
    if (request.paymentMethod) {
      params.payment_method = request.paymentMethod;
    } else {
      var refused = invalid();
      if (refused) return Promise.resolve(refused);
      params.payment_method_data = { type: 'card', card: card() };
      if (request.billing_details) params.payment_method_data.billing_details = request.billing_details;
    }
    return api('POST', kind.path + id + '/confirm', params).then(answered(kind));
  }

  function retrieve(kind, request) {
    var id = intentId(request.clientSecret, kind);
    if (!id) return Promise.resolve(notASecret(kind));
    return api('GET', kind.path + id, null, { client_secret: request.clientSecret }).then(answered(kind));
  }

  var HANDLERS = {
    createPaymentMethod: createPaymentMethod,
    confirmCardPayment: function (request) { return confirm(KINDS.payment, request); },
    retrievePaymentIntent: function (request) { return retrieve(KINDS.payment, request); },
    confirmCardSetup: function (request) { return confirm(KINDS.setup, request); },
    retrieveSetupIntent: function (request) { return retrieve(KINDS.setup, request); }
  };

  window.addEventListener('message', function (event) {
    if (event.origin !== ORIGIN || event.source !== window.parent) return;
    var data = event.data;
    if (!data || data.beyondpay !== 1 || data.frame !== FRAME) return;
    if (data.type === 'clear') {
      number.value = expiry.value = cvc.value = '';
      touched = { number: false, expiry: false, cvc: false };
      changed();
      return;
    }
    if (data.type === 'focus') {
      number.focus();
      return;
    }
    var handler = HANDLERS[data.type];
    if (!handler) return;
    handler(data).then(function (result) {
      if (result.error && result.error.message) show(result.error.message);
      send({ type: 'result', request: data.request, result: result });
    });
  });

  if (window.ResizeObserver) new window.ResizeObserver(resize).observe(document.documentElement);
  send({ type: 'ready' });
  resize();
})();
