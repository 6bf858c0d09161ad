// Package ibkrbroker is the Go client of ibkr-broker: a connection to the gateway whose calls
// return *Error (the server's reason and IB's code) when they fail. The messages and the raw
// service client are generated in package ibkrbrokerv1 (ibkr_broker/v1).
package ibkrbroker

import (
	"context"
	"os"

	"google.golang.org/grpc"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
)

// DefaultAddr is where `ibkr-broker serve` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:50051"

// AddrFromEnv is IBKR_BROKER_ADDR, or DefaultAddr when it is unset or empty.
func AddrFromEnv() string {
	if addr := os.Getenv("IBKR_BROKER_ADDR"); addr != "" {
		return addr
	}
	return DefaultAddr
}

// Client is a BrokerService client over one connection; close it when done.
type Client struct {
	v1.BrokerServiceClient
	conn *grpc.ClientConn
}

// Dial connects to the gateway at addr ("host:port") in plaintext, lazily: an unreachable
// address shows as an *Error with code Unavailable on the first call. Pass grpc.DialOptions to
// change the transport (e.g. grpc.WithTransportCredentials for TLS, which replaces plaintext).
func Dial(addr string, opts ...grpc.DialOption) (*Client, error) {
	all := append([]grpc.DialOption{
		grpc.WithInsecure(),
		grpc.WithUnaryInterceptor(unaryErrors),
		grpc.WithStreamInterceptor(streamErrors),
	}, opts...)
	conn, err := grpc.Dial(addr, all...)
	if err != nil {
		return nil, err
	}
	return &Client{BrokerServiceClient: v1.NewBrokerServiceClient(conn), conn: conn}, nil
}

// Close closes the connection; calls in flight end with code Canceled.
func (c *Client) Close() error {
	return c.conn.Close()
}

func unaryErrors(ctx context.Context, method string, req, reply interface{},
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return FromError(invoker(ctx, method, req, reply, cc, opts...))
}

func streamErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
	method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	stream, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, FromError(err)
	}
	return typedStream{stream}, nil
}

// typedStream turns a stream's failures into *Error (io.EOF, the normal end, stays io.EOF).
type typedStream struct {
	grpc.ClientStream
}

func (s typedStream) RecvMsg(m interface{}) error {
	return FromError(s.ClientStream.RecvMsg(m))
}
