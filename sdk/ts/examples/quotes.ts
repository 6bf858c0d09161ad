// Streams live quotes of two stocks and stops after a few updates.
//   node dist/examples/quotes.js
import { connect, SecurityType, SubscriptionState } from "../src/index.js";
import { runExample } from "./run.js";

const WANTED = 5;

runExample(async () => {
  const client = connect();
  const contracts = ["AAPL", "MSFT"].map((symbol) => ({ securityType: SecurityType.STOCK, symbol }));
  let seen = 0;
  // timeoutMs bounds the whole stream; leaving the loop cancels it at the server.
  for await (const message of client.streamQuotes({ contracts }, { timeoutMs: 30_000 })) {
    const { payload, sequence } = message;
    if (payload.case === "status") {
      const state = SubscriptionState[payload.value.state];
      console.log(`#${sequence} ${payload.value.contract?.symbol}: ${state}`);
    } else if (payload.case === "quotes") {
      for (const q of payload.value.quotes) {
        console.log(`#${sequence} ${q.symbol} bid ${q.bid} ask ${q.ask} last ${q.last}`);
        seen += 1;
      }
    }
    if (seen >= WANTED) return;
  }
  throw new Error(`the quote stream ended after ${seen} of ${WANTED} quotes`);
});
