// The client's failures are BrokerError: from the server's ErrorInfo, and for an unreachable
// server in a unary call and in a stream alike. Run: npm test (after npm run build).
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { ConnectError } from "@connectrpc/connect";
import { BrokerError, Code, connect, SecurityType, toBrokerError } from "../src/index.js";
import { ErrorInfoSchema } from "../src/gen/google/rpc/error_details_pb.js";

/** A loopback address nothing listens on (a port bound, then released). */
async function closedAddr(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${address.port}`;
}

test("a BrokerError carries the ErrorInfo reason, IB code and field", () => {
  const info = { reason: "ORDER_REJECTED", domain: "ibkr-broker",
    metadata: { ib_code: "110", field: "order.limit_price" } };
  const cause = new ConnectError("price off the tick size", Code.FailedPrecondition, undefined,
    [{ desc: ErrorInfoSchema, value: info }]);
  const error = toBrokerError(cause);
  assert.ok(error instanceof BrokerError);
  assert.equal(error.message, "ORDER_REJECTED (IB 110, field order.limit_price): price off the tick size");
  assert.deepEqual([error.code, error.reason, error.domain, error.ibCode, error.field],
    [Code.FailedPrecondition, "ORDER_REJECTED", "ibkr-broker", 110, "order.limit_price"]);
  assert.equal(error.retryable, false);
  assert.equal(toBrokerError(error), error);
});

test("an error without ErrorInfo is a BrokerError named by its code", () => {
  const error = toBrokerError(new Error("boom"));
  assert.deepEqual([error.code, error.reason, error.ibCode], [Code.Unknown, "", 0]);
  assert.equal(error.message, "Unknown: boom");
});

test("an unreachable server fails unary calls and streams with BrokerError", async () => {
  const client = connect(await closedAddr());
  await assert.rejects(client.getStatus({}), (error: unknown) =>
    error instanceof BrokerError && error.code === Code.Unavailable && error.retryable);
  const contracts = [{ securityType: SecurityType.STOCK, symbol: "AAPL" }];
  await assert.rejects(async () => {
    for await (const message of client.streamQuotes({ contracts })) assert.fail(`${message}`);
  }, (error: unknown) => error instanceof BrokerError && error.code === Code.Unavailable);
});
