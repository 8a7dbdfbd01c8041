// The official Stripe Node SDK as a client of beyondpay: one flow per run, named on the command
// line; the result is printed as JSON for tests/compat/test_stripe_node.py to assert on.
// Usage: BEYONDPAY_URL=http://127.0.0.1:PORT BEYONDPAY_KEY=sk_test_… node flows.mjs <flow>
import Stripe from "stripe";

const url = new URL(process.env.BEYONDPAY_URL);
const stripe = new Stripe(process.env.BEYONDPAY_KEY, {
  host: url.hostname,
  port: Number(url.port),
  protocol: url.protocol.replace(":", ""),
  telemetry: false,
  maxNetworkRetries: 0,
});

function caught(error) {
  return {
    class: error.constructor.name,
    type: error.type,
    code: error.code,
    param: error.param,
    decline_code: error.decline_code,
    status: error.statusCode,
    request_id: error.requestId,
  };
}


const WAIT_MS = 20000;
const POLL_MS = 100;

async function until(read, done) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// The payer completes 3-D Secure on the sandbox page the intent's next_action names.
async function authenticate(intent) {
  const page = new URL(intent.next_action.redirect_to_url.url);
  const target = `${url.origin}${page.pathname}${page.search}`;
  const shown = await fetch(target);
  if (shown.status !== 200) throw new Error(`3-D Secure page answered ${shown.status}`);
  await fetch(target, {
    method: "POST",
    body: new URLSearchParams({ outcome: "complete" }),
    redirect: "manual",
  });
}

async function saveCard(customer, card) {
  const created = await stripe.setupIntents.create({
    customer,
    payment_method: card,
    usage: "off_session",
    confirm: true,
    return_url: "https://shop.example/saved",
  });
  await authenticate(created);
  return { challenged: created.status, saved: await stripe.setupIntents.retrieve(created.id) };
}

function inr(amounts) {
  return amounts.filter((item) => item.currency === "inr").reduce((sum, item) => sum + item.amount, 0);
}

const flows = {
  // Create, retrieve, update, list with auto-paging, delete.
  async customers() {
    const created = await stripe.customers.create({ email: "asha@example.com", metadata: { order: "42" } });
    const fetched = await stripe.customers.retrieve(created.id);
    const updated = await stripe.customers.update(created.id, { name: "Asha" });
    for (let i = 0; i < 3; i += 1) await stripe.customers.create({ name: `c${i}` });
    const ids = [];
    for await (const customer of stripe.customers.list({ limit: 2 })) ids.push(customer.id);
    const deleted = await stripe.customers.del(created.id);
    return { created, fetched, updated, listed: ids, deleted };
  },

  // A card payment confirmed at creation, then a refund of part of it.
  async payment() {
    const intent = await stripe.paymentIntents.create({
      amount: 150000,
      currency: "inr",
      payment_method: "pm_card_visa",
      payment_method_types: ["card"],
      confirm: true,
    });
    const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 50000 });
    return { intent, refund };
  },

  // Errors become the SDK's own classes, with the parameter named.
  async errors() {
    const results = {};
    try {
      await stripe.customers.create({ nickname: "x" });
    } catch (error) {
      results.unknown = caught(error);
    }
    try {
      await stripe.customers.retrieve("cus_doesnotexist");
    } catch (error) {
      results.missing = caught(error);
    }
    try {
      await stripe.paymentIntents.create({
        amount: 1000,
        currency: "inr",
        payment_method: "pm_card_chargeDeclined",
        payment_method_types: ["card"],
        confirm: true,
      });
    } catch (error) {
      results.declined = caught(error);
    }
    const key = `node-${Date.now()}`;
    await stripe.customers.create({ name: "once" }, { idempotencyKey: key });
    try {
      await stripe.customers.create({ name: "twice" }, { idempotencyKey: key });
    } catch (error) {
      results.idempotency = caught(error);
    }
    return results;
  },
  // A card saved with a SetupIntent is charged off-session; one that always needs
  // authentication fails off-session with authentication_required.
  async saved_card() {
    const asha = await stripe.customers.create({ email: "asha@example.com" });
    const { challenged, saved } = await saveCard(asha.id, "pm_card_authenticationRequiredOnSetup");
    const payment = await stripe.paymentIntents.create({
      amount: 49900,
      currency: "inr",
      customer: asha.id,
      payment_method: saved.payment_method,
      off_session: true,
      confirm: true,
    });
    const ravi = await stripe.customers.create({ name: "Ravi" });
    const always = await saveCard(ravi.id, "pm_card_authenticationRequired");
    let failure = null;
    try {
      await stripe.paymentIntents.create({
        amount: 49900,
        currency: "inr",
        customer: ravi.id,
        payment_method: always.saved.payment_method,
        off_session: true,
        confirm: true,
      });
    } catch (error) {
      failure = { ...caught(error), intent_status: error.raw?.payment_intent?.status };
    }
    return { challenged, saved, payment, failure };
  },

  // tok_visa charged through the legacy charges API; intents searched by metadata.
  async legacy() {
    const charge = await stripe.charges.create({
      amount: 2000,
      currency: "inr",
      source: "tok_visa",
      description: "Order 41",
    });
    const wanted = await stripe.paymentIntents.create({ amount: 4200, currency: "inr", metadata: { order: "42" } });
    await stripe.paymentIntents.create({ amount: 700, currency: "inr", metadata: { order: "7" } });
    const found = await stripe.paymentIntents.search({ query: "metadata['order']:'42'" });
    return { charge, wanted: wanted.id, found: found.data.map((intent) => intent.id), object: found.object };
  },

  // A test clock advanced three days makes a payment's funds available.
  async clock() {
    const now = Math.floor(Date.now() / 1000);
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: now, name: "Node" });
    const customer = await stripe.customers.create({ name: "Asha", test_clock: clock.id });
    const intent = await stripe.paymentIntents.create({
      amount: 10000,
      currency: "inr",
      customer: customer.id,
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const charge = await stripe.charges.retrieve(intent.latest_charge);
    const before = await stripe.balance.retrieve();
    const advancing = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: now + 3 * 86400 });
    const ready = await until(
      () => stripe.testHelpers.testClocks.retrieve(clock.id),
      (value) => value.status !== "advancing",
    );
    const after = await stripe.balance.retrieve();
    const transaction = await stripe.balanceTransactions.retrieve(charge.balance_transaction);
    return {
      now,
      advancing: advancing.status,
      ready,
      available_before: inr(before.available),
      available_after: inr(after.available),
      transaction,
    };
  },

  // A receipt email in the sink, with the charge's receipt URL, whose page renders.
  async receipt() {
    const intent = await stripe.paymentIntents.create({
      amount: 100000,
      currency: "inr",
      payment_method: "pm_card_visa",
      confirm: true,
      receipt_email: "asha@example.com",
    });
    const charge = await stripe.charges.retrieve(intent.latest_charge);
    const emails = await until(
      async () => {
        // Our sandbox's route, not Stripe's: the SDK's raw request answers its decoded JSON.
        const answer = await stripe.rawRequest("GET", `/v1/notifications/sandbox/emails?related=${charge.id}`, null);
        return answer.data ?? [];
      },
      (data) => data.length > 0,
    );
    const page = await fetch(charge.receipt_url);
    return { charge, emails, page: { status: page.status, text: await page.text() } };
  },

  // Pays with Stripe's dispute test card (the test then delivers the network's report).
  async dispute_pay() {
    const method = await stripe.paymentMethods.create({
      type: "card",
      card: { number: "4000000000000259", exp_month: 12, exp_year: 2034, cvc: "123" },
    });
    return await stripe.paymentIntents.create({ amount: 100000, currency: "inr", payment_method: method.id, confirm: true });
  },

  // The dispute of that payment: winning evidence submitted, and won.
  async dispute_win(intentId) {
    const listed = await stripe.disputes.list({ payment_intent: intentId });
    const dispute = listed.data[0];
    const won = await stripe.disputes.update(dispute.id, { evidence: { uncategorized_text: "winning_evidence" } });
    return { opened: dispute, won };
  },
};

const name = process.argv[2];
if (!(name in flows)) {
  console.error(`unknown flow ${name}; one of ${Object.keys(flows).join(", ")}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await flows[name](...process.argv.slice(3))));
} catch (error) {
  console.log(JSON.stringify({ uncaught: caught(error), message: error.message }));
  process.exit(1);
}
