// Places a limit order far below the market, cancels it, then shows how a refused order reaches
// the caller: a BrokerError with the reason, the field at fault and, when IB refused it, IB's
// code (a limit price off the tick size is refused by the server before it reaches IB).
//   node dist/examples/order.js
import {
  BrokerError, Code, connect, OrderAction, OrderStatus, OrderType, SecurityType,
  type BrokerClient,
} from "../src/index.js";
import { runExample } from "./run.js";

const aapl = { securityType: SecurityType.STOCK, symbol: "AAPL" };

// requestId is the idempotency key: a retry with it never places a second order.
const buyLimit = (requestId: string, limitPrice: string) => ({
  requestId,
  contract: aapl,
  order: { action: OrderAction.BUY, quantity: "1", orderType: OrderType.LIMIT, limitPrice },
});

/** Half a decimal price, rounded down to cents, without floating point. */
function halfOf(price: string): string {
  const parts = /^(\d+)(?:\.(\d*))?$/.exec(price);
  if (!parts) throw new Error(`no usable price in ${JSON.stringify(price)}`);
  const fraction = parts[2] ?? "";
  const scaled = BigInt(parts[1] + fraction);
  const cents = (scaled * 100n) / (2n * 10n ** BigInt(fraction.length));
  if (cents <= 0n) throw new Error(`no usable price in ${JSON.stringify(price)}`);
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}

async function showRefusal(client: BrokerClient, requestId: string): Promise<void> {
  try {
    await client.placeOrder(buyLimit(requestId, "100.001"));
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    console.log(`refused: ${error.message}`);
    console.log(`  code ${Code[error.code]}, reason ${error.reason}, field ${error.field}, ` +
      `IB code ${error.ibCode}`);
    return;
  }
  throw new Error("expected a refusal of a price off the tick size");
}

runExample(async () => {
  const client = connect(undefined, { timeoutMs: 20_000 });
  const { quote } = await client.getQuote({ contract: aapl });
  const price = halfOf(quote?.bid ?? "");
  const stamp = `${Date.now()}-${process.pid}`;
  const { order } = await client.placeOrder(buyLimit(`ts-example-${stamp}`, price));
  if (!order) throw new Error("PlaceOrder answered without an order");
  console.log(`placed ${order.orderId}: buy 1 AAPL at ${price} (bid ${quote?.bid}): ` +
    `${OrderStatus[order.status]}`);
  const cancelled = await client.cancelOrder({
    requestId: `ts-example-cancel-${stamp}`, orderId: order.orderId,
  });
  console.log(`cancelled ${order.orderId}: ${OrderStatus[cancelled.order?.status ?? 0]}`);
  await showRefusal(client, `ts-example-refused-${stamp}`);
});
