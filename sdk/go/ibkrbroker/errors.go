package ibkrbroker

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call: the gRPC code and message, and the google.rpc.ErrorInfo the server
// attaches to every failure (Reason such as "ORDER_REJECTED", IB's error code, the field at fault).
type Error struct {
	Code     codes.Code
	Message  string
	Reason   string            // ErrorInfo reason, e.g. "ORDER_REJECTED"; "" when the server sent none
	Domain   string            // ErrorInfo domain, "ibkr-broker"
	IBCode   int               // IB's error code (metadata "ib_code"), 0 when IB was not involved
	Field    string            // the request field at fault (metadata "field"), e.g. "order.quantity"
	Metadata map[string]string // all of the ErrorInfo metadata
	status   *status.Status
}

// Error reads "ORDER_REJECTED (IB 201): Order rejected - reason:...", "INVALID_ARGUMENT (field
// order.quantity): ..." or, without ErrorInfo, "Unavailable: connection refused" (the form of
// the Python client's BrokerError.one_line).
func (e *Error) Error() string {
	head := e.Reason
	if head == "" {
		head = e.Code.String()
	}
	var extras []string
	if e.IBCode != 0 {
		extras = append(extras, fmt.Sprintf("IB %d", e.IBCode))
	}
	if e.Field != "" {
		extras = append(extras, "field "+e.Field)
	}
	if len(extras) > 0 {
		head += " (" + strings.Join(extras, ", ") + ")"
	}
	return head + ": " + e.Message
}

// GRPCStatus keeps status.Code and status.FromError working on an *Error.
func (e *Error) GRPCStatus() *status.Status {
	return e.status
}

// Retryable is true for the only codes worth retrying: Unavailable and ResourceExhausted.
func (e *Error) Retryable() bool {
	return e.Code == codes.Unavailable || e.Code == codes.ResourceExhausted
}

// FromError turns a gRPC failure into an *Error; nil, io.EOF and an *Error pass unchanged, and
// an error that is not a gRPC status becomes an *Error with code Unknown.
func FromError(err error) error {
	var typed *Error
	if err == nil || err == io.EOF || errors.As(err, &typed) {
		return err
	}
	st, _ := status.FromError(err)
	out := &Error{Code: st.Code(), Message: st.Message(), status: st, Metadata: map[string]string{}}
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			out.Reason, out.Domain = info.GetReason(), info.GetDomain()
			for key, value := range info.GetMetadata() {
				out.Metadata[key] = value
			}
		}
	}
	out.IBCode, _ = strconv.Atoi(out.Metadata["ib_code"])
	out.Field = out.Metadata["field"]
	return out
}
