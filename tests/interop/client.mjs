// A TypeScript/JavaScript user's view of ibkr-broker: load protos/ at run time, no Python.
// Usage: node client.mjs HOST:PORT   -> prints one JSON line of results, exits non-zero on error.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const here = path.dirname(fileURLToPath(import.meta.url));
const protoRoot = path.resolve(here, "../../protos");
const definition = loader.loadSync("ibkr_broker/v1/broker_service.proto", {
  includeDirs: [protoRoot], keepCase: false, longs: String, enums: String, defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).ibkr_broker.v1;
const client = new v1.BrokerService(process.argv[2], grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 10000);
const call = (method, request) => new Promise((resolve, reject) =>
  client[method](request, { deadline: deadline() }, (err, reply) => (err ? reject(err) : resolve(reply))));

const aapl = { securityType: "SECURITY_TYPE_STOCK", symbol: "AAPL" };
const status = await call("getStatus", {});
const resolved = await call("resolveContract", { contract: aapl });
const placed = await call("placeOrder", {
  requestId: `node-${process.pid}`, contract: aapl,
  order: { action: "ORDER_ACTION_BUY", quantity: "3", orderType: "ORDER_TYPE_MARKET" },
});
let badField = "";
try {
  await call("placeOrder", { requestId: "node-bad", contract: aapl,
    order: { action: "ORDER_ACTION_BUY", quantity: "-1", orderType: "ORDER_TYPE_MARKET" } });
} catch (err) {
  badField = `${grpc.status[err.code]}: ${err.details}`;
}
const quotes = await new Promise((resolve, reject) => {
  const stream = client.streamQuotes({ contracts: [aapl] });
  const seen = [];
  stream.on("data", (msg) => {
    if (msg.payload === "quotes") seen.push(...msg.quotes.quotes.filter((q) => q.bid));
    if (seen.length >= 2) { stream.cancel(); resolve(seen); }
  });
  stream.on("error", (err) => (err.code === grpc.status.CANCELLED ? null : reject(err)));
  setTimeout(() => reject(new Error("no quotes within 10 s")), 10000).unref();
});
console.log(JSON.stringify({
  connectionState: status.connectionState,
  conId: resolved.matches[0].contract.conId,
  orderId: placed.order.orderId,
  orderStatus: placed.order.status,
  badField,
  quoteBid: quotes[quotes.length - 1].bid,
}));
client.close();
