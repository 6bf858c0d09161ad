// ibkr-broker for TypeScript / Node.js: `connect(addr)` gives a typed BrokerService client
// whose failures are BrokerError; the messages are the generated ones of ibkr_broker.v1.
export { connect, addrFromEnv, DEFAULT_ADDR, type BrokerClient, type ConnectOptions } from "./client.js";
export { BrokerError, Code, toBrokerError } from "./errors.js";
export * from "./gen/ibkr_broker/v1/account_pb.js";
export * from "./gen/ibkr_broker/v1/broker_service_pb.js";
export * from "./gen/ibkr_broker/v1/common_pb.js";
export * from "./gen/ibkr_broker/v1/contract_pb.js";
export * from "./gen/ibkr_broker/v1/market_data_pb.js";
export * from "./gen/ibkr_broker/v1/order_pb.js";
