// Streams live quotes of two stocks and stops after a few updates.
//   node dist/examples/quotes.js
import { connect, SecurityType, SubscriptionState } from "../src/index.js";
import { runExample } from "./run.js";

const WANTED = 5;

runExample(async () => {
  const client = connect();
  const contracts = ["AAPL", "MSFT"].map((symbol) => ({ securityType: SecurityType.STOCK, symbol }));
  let seen = 0;
  // A stream lives until cancelled: aborting the signal ends it, here also after 30 s.
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 30_000).unref();
  for await (const message of client.streamQuotes({ contracts }, { signal: stop.signal })) {
    const { payload, sequence } = message;
    if (payload.case === "status") {
      const state = SubscriptionState[payload.value.state];
      console.log(`#${sequence} ${payload.value.contract?.symbol}: ${state}`);
    } else if (payload.case === "quotes") {
      for (const q of payload.value.quotes) {
        console.log(`#${sequence} ${q.symbol} bid ${q.bid} ask ${q.ask} last ${q.last}`);
        if (q.bid) seen += 1; // the first quote of a contract may have no bid yet
      }
    }
    if (seen >= WANTED) {
      stop.abort();
      return;
    }
  }
  throw new Error(`the quote stream ended after ${seen} of ${WANTED} quotes`);
});
