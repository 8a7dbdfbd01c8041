/*! beyondpay.js v1: the card element. Served by the platform at /v1/js; no dependencies.
 *
 *   var beyondpay = Beyondpay('pk_test_…');
 *   var card = beyondpay.elements().create('card');
 *   card.mount('#card');
 *   beyondpay.createPaymentMethod({ type: 'card', card: card }).then(function (r) { … });
 *   beyondpay.confirmCardPayment(clientSecret, { payment_method: { card: card } }).then(…);
 *
 * The card's inputs live in an iframe on the platform's origin: this page never sees the
 * card's digits, only the payment method or PaymentIntent the platform answers with.
 * Messages from the frames are accepted only from the platform's origin and from the frame
 * they claim to come from; requests go to the platform's origin only.
 */
(function (global) {
  'use strict';

  var script = document.currentScript;
  if (!script || !script.src) {
    throw new Error('beyondpay.js: load it with <script src="…/v1/js">, not inline or as a module.');
  }
  var PLATFORM = new URL(script.src).origin;
  var KEY_PATTERN = /^pk_(test|live)_[A-Za-z0-9]+$/;
  var FRAME_HEIGHT_PX = 72;
  var frameCount = 0;
  var frames = {};  // frame id -> element

  function error(type, message, extra) {
    var made = { type: type, message: message };
    if (extra) Object.keys(extra).forEach(function (name) { made[name] = extra[name]; });
    return { error: made };
  }

  global.addEventListener('message', function (event) {
    if (event.origin !== PLATFORM) return;
    var data = event.data;
    if (!data || data.beyondpay !== 1) return;
    var element = frames[data.frame];
    if (!element || !element._iframe || event.source !== element._iframe.contentWindow) return;
    element._receive(data);
  });

  // ---- the card element ----------------------------------------------------------------------

  function CardElement(beyondpay, options) {
    this._beyondpay = beyondpay;
    this._options = options || {};
    this._id = 'bp' + String(++frameCount) + Math.random().toString(36).slice(2, 10);
    this._iframe = null;
    this._ready = false;
    this._queue = [];
    this._pending = {};
    this._requests = 0;
    this._handlers = {};
    this._complete = false;
  }

  CardElement.prototype.mount = function (target) {
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) throw new Error('beyondpay.js: nothing on the page matches ' + String(target));
    if (this._iframe) throw new Error('beyondpay.js: this card element is mounted already.');
    var query = 'key=' + encodeURIComponent(this._beyondpay._key) +
      '&origin=' + encodeURIComponent(global.location.origin) +
      '&frame=' + encodeURIComponent(this._id);
    var iframe = document.createElement('iframe');
    iframe.src = PLATFORM + '/elements/card?' + query;
    iframe.title = this._options.title || 'Secure card payment input';
    iframe.setAttribute('scrolling', 'no');
    iframe.setAttribute('allowtransparency', 'true');
    iframe.style.cssText = 'all:initial;border:0;width:100%;min-width:0;display:block;overflow:hidden;' +
      'background:transparent;height:' + FRAME_HEIGHT_PX + 'px';
    frames[this._id] = this;
    this._iframe = iframe;
    host.appendChild(iframe);
    return this;
  };

  CardElement.prototype.unmount = function () {
    if (this._iframe && this._iframe.parentNode) this._iframe.parentNode.removeChild(this._iframe);
    delete frames[this._id];
    this._iframe = null;
    this._ready = false;
    var pending = this._pending;
    this._pending = {};
    Object.keys(pending).forEach(function (request) {
      pending[request](error('invalid_request_error', 'The card element was removed from the page.'));
    });
  };
  CardElement.prototype.destroy = CardElement.prototype.unmount;

  CardElement.prototype.on = function (name, handler) {
    (this._handlers[name] = this._handlers[name] || []).push(handler);
    return this;
  };

  CardElement.prototype.clear = function () { this._post({ type: 'clear' }); };
  CardElement.prototype.focus = function () { this._post({ type: 'focus' }); };

  CardElement.prototype._emit = function (name, payload) {
    (this._handlers[name] || []).forEach(function (handler) { handler(payload); });
  };

  CardElement.prototype._post = function (message) {
    message.beyondpay = 1;
    message.frame = this._id;
    if (!this._ready) {
      this._queue.push(message);
      return;
    }
    this._iframe.contentWindow.postMessage(message, PLATFORM);
  };

  CardElement.prototype._ask = function (message) {
    var element = this;
    if (!element._iframe) {
      return Promise.resolve(error('invalid_request_error', 'Mount the card element before using it.'));
    }
    return new Promise(function (resolve) {
      var request = String(++element._requests);
      element._pending[request] = resolve;
      message.request = request;
      element._post(message);
    });
  };

  CardElement.prototype._receive = function (data) {
    if (data.type === 'ready') {
      this._ready = true;
      var queued = this._queue;
      this._queue = [];
      for (var i = 0; i < queued.length; i += 1) this._iframe.contentWindow.postMessage(queued[i], PLATFORM);
      this._emit('ready', {});
    } else if (data.type === 'resize' && typeof data.height === 'number' && data.height > 0) {
      this._iframe.style.height = Math.min(Math.ceil(data.height), 1000) + 'px';
    } else if (data.type === 'change') {
      this._complete = !!data.complete;
      this._emit('change', { elementType: 'card', complete: !!data.complete, empty: !!data.empty, error: data.error || undefined });
    } else if (data.type === 'focus' || data.type === 'submit') {
      this._emit(data.type, {});
    } else if (data.type === 'result') {
      var resolve = this._pending[data.request];
      delete this._pending[data.request];
      if (resolve) resolve(data.result);
    }
  };

  // ---- 3-D Secure: the challenge in a modal frame over the page ------------------------------

  function authenticate(url) {
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.setAttribute('role', 'dialog');
      overlay.setAttribute('aria-modal', 'true');
      overlay.setAttribute('aria-label', 'Authenticate your payment');
      // all:initial: the merchant's own styles (a rule for every button, say) stay out.
      overlay.style.cssText = 'all:initial;position:fixed;inset:0;z-index:2147483647;display:flex;' +
        'align-items:center;justify-content:center;background:rgba(26,31,54,.55);padding:8px';
      var box = document.createElement('div');
      box.style.cssText = 'all:initial;position:relative;width:100%;max-width:480px;height:100%;max-height:640px;' +
        'background:#fff;border-radius:8px;overflow:hidden;display:flex;flex-direction:column';
      var close = document.createElement('button');
      close.type = 'button';
      close.textContent = 'Cancel';
      close.style.cssText = 'all:initial;align-self:flex-end;margin:8px;padding:6px 14px;' +
        'font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;' +
        'border:1px solid #8a93a8;border-radius:6px;background:#fff;color:#1a1f36;cursor:pointer';
      var frame = document.createElement('iframe');
      frame.title = '3-D Secure authentication';
      frame.style.cssText = 'all:initial;display:block;border:0;width:100%;flex:1 1 auto';
      frame.src = url;
      close.addEventListener('focus', function () { close.style.outline = '2px solid #3b5bdb'; });
      close.addEventListener('blur', function () { close.style.outline = 'none'; });
      box.appendChild(close);
      box.appendChild(frame);
      overlay.appendChild(box);

      var before = document.activeElement;
      function escape(event) {
        if (event.key === 'Escape') finish(true);
      }
      function finish(cancelled) {
        global.removeEventListener('message', listen);
        document.removeEventListener('keydown', escape);
        if (before && before.focus) before.focus();
        if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
        resolve(cancelled);
      }
      function listen(event) {
        if (event.origin !== PLATFORM || event.source !== frame.contentWindow) return;
        if (event.data && event.data.beyondpay === 1 && event.data.type === 'authenticated') finish(false);
      }
      global.addEventListener('message', listen);
      close.addEventListener('click', function () { finish(true); });
      document.addEventListener('keydown', escape);
      document.body.appendChild(overlay);
      frame.focus();
    });
  }

  // ---- Beyondpay(pk) ----------------------------------------------------------------------------

  function Beyondpay(key) {
    if (!(this instanceof Beyondpay)) return new Beyondpay(key);
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new Error('beyondpay.js: Beyondpay() takes your publishable key (pk_test_… or pk_live_…), never a secret key.');
    }
    this._key = key;
    this._cards = [];
  }

  Beyondpay.version = 'v1';

  Beyondpay.prototype.elements = function () {
    var beyondpay = this;
    return {
      create: function (type, options) {
        if (type !== 'card') throw new Error('beyondpay.js: the only element is \'card\'.');
        var element = new CardElement(beyondpay, options);
        beyondpay._cards.push(element);
        return element;
      }
    };
  };

  function mountedCard(beyondpay, given) {
    if (given) return given instanceof CardElement ? given : null;
    for (var i = 0; i < beyondpay._cards.length; i += 1) {
      if (beyondpay._cards[i]._iframe) return beyondpay._cards[i];
    }
    return null;
  }

  // -> Promise of {paymentMethod} or {error}
  Beyondpay.prototype.createPaymentMethod = function (data) {
    data = data || {};
    if (data.type && data.type !== 'card') {
      return Promise.resolve(error('invalid_request_error', 'The card element makes card payment methods only.', { param: 'type' }));
    }
    var card = mountedCard(this, data.card);
    if (!card) return Promise.resolve(error('invalid_request_error', 'Pass a mounted card element as card.', { param: 'card' }));
    return card._ask({ type: 'createPaymentMethod', billing_details: data.billing_details || null });
  };

  // The two intents the element confirms: what the frame is asked, what the answer is called.
  var PAYMENT = {
    confirm: 'confirmCardPayment', retrieve: 'retrievePaymentIntent', answer: 'paymentIntent',
    error: 'payment_intent', lastError: 'last_payment_error'
  };
  var SETUP = {
    confirm: 'confirmCardSetup', retrieve: 'retrieveSetupIntent', answer: 'setupIntent',
    error: 'setup_intent', lastError: 'last_setup_error'
  };

  // Confirms, then runs 3-D Secure in the modal when the bank asks, then reads the outcome.
  function confirmIntent(beyondpay, kind, clientSecret, data) {
    data = data || {};
    var method = data.payment_method;
    var card = mountedCard(beyondpay, method && typeof method === 'object' ? method.card : null);
    if (!card) return Promise.resolve(error('invalid_request_error', 'Mount a card element before confirming.', { param: 'payment_method' }));
    var request = { type: kind.confirm, clientSecret: clientSecret };
    if (typeof method === 'string') request.paymentMethod = method;
    if (method && typeof method === 'object' && method.billing_details) request.billing_details = method.billing_details;
    return card._ask(request).then(function (result) {
      var intent = result[kind.answer];
      var action = intent && intent.status === 'requires_action' ? intent.next_action : null;
      if (!action || action.type !== 'redirect_to_url' || !action.redirect_to_url) return result;
      var url = String(action.redirect_to_url.url || '');
      if (!/^https?:\/\//.test(url)) return error('api_error', 'The payment asked for an authentication this page cannot show.');
      return authenticate(url).then(function () {
        return card._ask({ type: kind.retrieve, clientSecret: clientSecret });
      }).then(function (after) {
        var done = after[kind.answer];
        var extra = {};
        if (!done) return after;
        extra[kind.error] = done;
        if (done.status === 'requires_action') {
          extra.code = 'payment_intent_authentication_failure';
          return error('invalid_request_error', 'The payment was not authenticated.', extra);
        }
        var failed = done[kind.lastError];
        if (done.status === 'requires_payment_method' && failed) {
          extra.code = failed.code;
          extra.decline_code = failed.decline_code;
          return error(failed.type || 'card_error', failed.message || 'The payment failed.', extra);
        }
        return after;
      });
    });
  }

  // -> Promise of {paymentIntent} (succeeded, or requires_capture) or {error}
  Beyondpay.prototype.confirmCardPayment = function (clientSecret, data) {
    return confirmIntent(this, PAYMENT, clientSecret, data);
  };

  // -> Promise of {setupIntent} (succeeded: the card is saved to the intent's customer) or {error}
  Beyondpay.prototype.confirmCardSetup = function (clientSecret, data) {
    return confirmIntent(this, SETUP, clientSecret, data);
  };

  function retrieveIntent(beyondpay, kind, clientSecret) {
    var card = mountedCard(beyondpay, null);
    if (!card) return Promise.resolve(error('invalid_request_error', 'Mount a card element first.'));
    return card._ask({ type: kind.retrieve, clientSecret: clientSecret });
  }

  // -> Promise of {paymentIntent} or {error}
  Beyondpay.prototype.retrievePaymentIntent = function (clientSecret) {
    return retrieveIntent(this, PAYMENT, clientSecret);
  };

  // -> Promise of {setupIntent} or {error}
  Beyondpay.prototype.retrieveSetupIntent = function (clientSecret) {
    return retrieveIntent(this, SETUP, clientSecret);
  };

  global.Beyondpay = Beyondpay;
})(window);
