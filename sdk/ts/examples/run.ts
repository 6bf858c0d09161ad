// Runs an example: on failure prints "error: ..." (a BrokerError reads "REASON (IB code): message")
// and exits 1.
export function runExample(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
