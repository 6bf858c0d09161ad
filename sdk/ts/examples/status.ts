// Checks the connection: the gateway's session with TWS, its accounts, paper or live.
//   IBKR_BROKER_ADDR=127.0.0.1:50051 node dist/examples/status.js
import { addrFromEnv, connect, ConnectionState } from "../src/index.js";
import { runExample } from "./run.js";

runExample(async () => {
  const addr = addrFromEnv();
  const client = connect(addr);
  const status = await client.getStatus({}).catch((error: Error) => {
    throw new Error(`cannot reach ibkr-broker at ${addr}: ${error.message}`, { cause: error });
  });
  console.log(`connection: ${ConnectionState[status.connectionState]}`);
  console.log(`accounts: ${status.accounts.join(", ")} (paper trading: ${status.paperTrading})`);
  console.log(`trading enabled: ${status.tradingEnabled} ${status.tradingDisabledReason}`);
});
