// Resolves a contract from a partial spec, then shows how an unknown symbol fails.
//   node dist/examples/resolve.js
import { BrokerError, connect, SecurityType } from "../src/index.js";
import { runExample } from "./run.js";

const stock = (symbol: string) => ({ securityType: SecurityType.STOCK, symbol });

runExample(async () => {
  const client = connect();
  const resolved = await client.resolveContract({ contract: stock("AAPL") });
  for (const match of resolved.matches) {
    const c = match.contract;
    console.log(`AAPL: con_id ${c?.conId}, ${match.longName}, ${c?.currency} on ` +
      `${c?.primaryExchange}, tick ${match.minTick}`);
  }
  try {
    await client.resolveContract({ contract: stock("NOSUCH") });
    throw new Error("NOSUCH: expected a not-found error");
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    console.log(`NOSUCH: ${error.message} (reason ${error.reason}, IB code ${error.ibCode})`);
  }
});
