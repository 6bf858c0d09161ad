// A typed BrokerService client over gRPC (HTTP/2) whose failures are BrokerError, in unary calls
// and while reading a stream alike.
import { createClient, type CallOptions, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BrokerService } from "./gen/ibkr_broker/v1/broker_service_pb.js";
import { toBrokerError } from "./errors.js";

export type BrokerClient = Client<typeof BrokerService>;

/** Where `ibkr-broker serve` listens unless told otherwise. */
export const DEFAULT_ADDR = "127.0.0.1:50051";

/** IBKR_BROKER_ADDR, or DEFAULT_ADDR when it is unset or empty. */
export function addrFromEnv(): string {
  return process.env["IBKR_BROKER_ADDR"] || DEFAULT_ADDR;
}

export interface ConnectOptions {
  /** Deadline of every unary call that sets no timeoutMs; default 10 000 ms. */
  timeoutMs?: number;
  /** "https" for a TLS server; default "http" (plaintext, as `ibkr-broker serve` without TLS). */
  scheme?: "http" | "https";
}

/** A client of the server at `addr` ("host:port"). It connects lazily: an unreachable address
 * shows as a BrokerError with code Unavailable on the first call. */
export function connect(addr: string = addrFromEnv(), options: ConnectOptions = {}): BrokerClient {
  const transport = createGrpcTransport({ baseUrl: `${options.scheme ?? "http"}://${addr}` });
  return withTypedErrors(createClient(BrokerService, transport), options.timeoutMs ?? 10_000);
}

type AnyMethod = (request: unknown, options?: CallOptions) => unknown;

/** The same client whose calls and streams fail with BrokerError, and whose unary calls have a
 * deadline unless they set one. Streams have none: they live until cancelled (pass a `signal`).
 * (A Connect interceptor cannot do this: the client wraps whatever an interceptor throws into
 * a ConnectError again; and Connect 2.0's deadline timer of a stream outlives the stream.) */
function withTypedErrors(client: BrokerClient, timeoutMs: number): BrokerClient {
  const calls = client as unknown as Record<string, AnyMethod>;
  const typed: Record<string, AnyMethod> = {};
  for (const [name, method] of Object.entries(BrokerService.method)) {
    const call = calls[name]!.bind(client);
    typed[name] = method.methodKind === "server_streaming"
      ? (request, options) => rethrowTyped(call(request, options) as AsyncIterable<unknown>)
      : (request, options) =>
        (call(request, { timeoutMs, ...options }) as Promise<unknown>).catch((error: unknown) => {
          throw toBrokerError(error);
        });
  }
  return typed as unknown as BrokerClient;
}

async function* rethrowTyped<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toBrokerError(error);
  }
}
