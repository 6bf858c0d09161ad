// Failed calls as typed objects: the gRPC code, and the google.rpc.ErrorInfo the server attaches
// to every failure (reason such as "ORDER_REJECTED", IB's error code, the field at fault).
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

export { Code };

export class BrokerError extends Error {
  override readonly name = "BrokerError";
  /** The gRPC status code, e.g. Code.FailedPrecondition. */
  readonly code: Code;
  /** The server's message, without the reason or code. */
  readonly rawMessage: string;
  /** ErrorInfo reason, e.g. "ORDER_REJECTED"; "" when the failure did not come from the server. */
  readonly reason: string;
  /** ErrorInfo domain, "ibkr-broker". */
  readonly domain: string;
  /** IB's error code (ErrorInfo metadata "ib_code"); 0 when IB was not involved. */
  readonly ibCode: number;
  /** The request field at fault (metadata "field"), e.g. "order.quantity"; "" when none. */
  readonly field: string;
  /** All of the ErrorInfo metadata. */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(error: ConnectError) {
    const [info] = error.findDetails(ErrorInfoSchema);
    const metadata = { ...(info?.metadata ?? {}) };
    const reason = info?.reason ?? "";
    const ibCode = Number.parseInt(metadata["ib_code"] ?? "0", 10) || 0;
    const field = metadata["field"] ?? "";
    const extras = [ibCode ? `IB ${ibCode}` : "", field ? `field ${field}` : ""].filter(Boolean);
    const head = reason || Code[error.code];
    // "REASON (IB 201, field order.quantity): message", the form of the Python client's one_line
    super(`${head}${extras.length ? ` (${extras.join(", ")})` : ""}: ${error.rawMessage}`,
      { cause: error });
    this.code = error.code;
    this.rawMessage = error.rawMessage;
    this.reason = reason;
    this.domain = info?.domain ?? "";
    this.ibCode = ibCode;
    this.field = field;
    this.metadata = metadata;
  }

  /** True for the only codes worth retrying: Unavailable and ResourceExhausted. */
  get retryable(): boolean {
    return this.code === Code.Unavailable || this.code === Code.ResourceExhausted;
  }
}

/** Any failure of a call as a BrokerError (one already is passes unchanged). */
export function toBrokerError(error: unknown): BrokerError {
  return error instanceof BrokerError ? error : new BrokerError(ConnectError.from(error));
}
