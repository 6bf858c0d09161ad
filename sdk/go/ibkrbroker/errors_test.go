package ibkrbroker

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
)

func TestFromErrorReadsTheErrorInfo(t *testing.T) {
	st, err := status.New(codes.FailedPrecondition, "price off the tick size").WithDetails(
		&errdetails.ErrorInfo{Reason: "ORDER_REJECTED", Domain: "ibkr-broker",
			Metadata: map[string]string{"ib_code": "110", "field": "order.limit_price"}})
	if err != nil {
		t.Fatal(err)
	}
	var typed *Error
	if !errors.As(FromError(st.Err()), &typed) {
		t.Fatalf("not an *Error: %v", FromError(st.Err()))
	}
	if typed.Code != codes.FailedPrecondition || typed.Reason != "ORDER_REJECTED" ||
		typed.Domain != "ibkr-broker" || typed.IBCode != 110 || typed.Field != "order.limit_price" {
		t.Fatalf("wrong fields: %+v", typed)
	}
	if got := typed.Error(); got != "ORDER_REJECTED (IB 110, field order.limit_price): price off the tick size" {
		t.Fatalf("Error() = %q", got)
	}
	if status.Code(typed) != codes.FailedPrecondition || typed.Retryable() {
		t.Fatalf("status.Code %v, retryable %t", status.Code(typed), typed.Retryable())
	}
}

func TestFromErrorKeepsNilEOFAndTypedErrors(t *testing.T) {
	typed := &Error{Code: codes.Unavailable}
	if FromError(nil) != nil || FromError(io.EOF) != io.EOF || FromError(typed) != typed {
		t.Fatal("nil, io.EOF or an *Error changed")
	}
	plain := FromError(errors.New("boom")).(*Error)
	if plain.Code != codes.Unknown || plain.Reason != "" || plain.Error() != "Unknown: boom" {
		t.Fatalf("plain error: %+v", plain)
	}
}

// closedAddr is a loopback address nothing listens on (a port bound, then released).
func closedAddr(t *testing.T) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}

func TestUnreachableServerFailsUnaryAndStreamCallsWithError(t *testing.T) {
	client, err := Dial(closedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.GetStatus(ctx, &v1.GetStatusRequest{})
	var typed *Error
	if !errors.As(err, &typed) || typed.Code != codes.Unavailable || !typed.Retryable() {
		t.Fatalf("unary: %v", err)
	}
	stream, err := client.StreamQuotes(ctx, &v1.StreamQuotesRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if !errors.As(err, &typed) || typed.Code != codes.Unavailable {
		t.Fatalf("stream: %v", err)
	}
}
