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
};

const name = process.argv[2];
if (!(name in flows)) {
  console.error(`unknown flow ${name}; one of ${Object.keys(flows).join(", ")}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await flows[name]()));
} catch (error) {
  console.log(JSON.stringify({ uncaught: caught(error), message: error.message }));
  process.exit(1);
}
