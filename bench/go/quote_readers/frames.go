package main

// The reader decodes of each StreamQuotesResponse only what it measures (each quote's con_id and
// update_time) straight from the wire bytes: a full decode of every Quote (a dozen decimal
// strings, each validated as UTF-8 and copied) was about half of the reader's CPU. The field
// numbers come from the generated descriptors, so the protos stay the one source of them.

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
)

var (
	responseQuotes  = fieldNumber(&v1.StreamQuotesResponse{}, "quotes")
	batchQuotes     = fieldNumber(&v1.QuoteBatch{}, "quotes")
	quoteConID      = fieldNumber(&v1.Quote{}, "con_id")
	quoteUpdateTime = fieldNumber(&v1.Quote{}, "update_time")
	stampSeconds    = fieldNumber(&timestamppb.Timestamp{}, "seconds")
	stampNanos      = fieldNumber(&timestamppb.Timestamp{}, "nanos")
)

func fieldNumber(message proto.Message, name string) protowire.Number {
	field := message.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
	if field == nil {
		panic(fmt.Sprintf("%s has no field %s", message.ProtoReflect().Descriptor().FullName(), name))
	}
	return field.Number()
}

// frame is one received message's bytes, undecoded.
type frame struct {
	data []byte
}

// frameCodec hands a *frame its message's bytes and marshals requests as protobuf.
type frameCodec struct{}

func (frameCodec) Marshal(v interface{}) ([]byte, error) {
	message, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("frameCodec: cannot marshal %T", v)
	}
	return proto.Marshal(message)
}

func (frameCodec) Unmarshal(data []byte, v interface{}) error {
	switch target := v.(type) {
	case *frame:
		target.data = append(target.data[:0], data...)
		return nil
	case proto.Message:
		return proto.Unmarshal(data, target)
	}
	return fmt.Errorf("frameCodec: cannot unmarshal into %T", v)
}

func (frameCodec) Name() string {
	return "proto"
}

// stamp is one quote's contract and Quote.update_time in nanoseconds since the epoch.
type stamp struct {
	conID int64
	nanos int64
}

// appendQuotes appends the stamp of every quote in a StreamQuotesResponse's bytes (none for a
// status or heartbeat message).
func appendQuotes(dst []stamp, response []byte) ([]stamp, error) {
	err := eachField(response, func(num protowire.Number, _ uint64, batch []byte) error {
		if num != responseQuotes || batch == nil {
			return nil
		}
		return eachField(batch, func(num protowire.Number, _ uint64, quote []byte) error {
			if num != batchQuotes || quote == nil {
				return nil
			}
			s, err := quoteStamp(quote)
			dst = append(dst, s)
			return err
		})
	})
	return dst, err
}

func quoteStamp(quote []byte) (stamp, error) {
	var s stamp
	err := eachField(quote, func(num protowire.Number, value uint64, stampBytes []byte) error {
		switch {
		case num == quoteConID && stampBytes == nil:
			s.conID = int64(value)
		case num == quoteUpdateTime && stampBytes != nil:
			return eachField(stampBytes, func(num protowire.Number, value uint64, _ []byte) error {
				switch num {
				case stampSeconds:
					s.nanos += int64(value) * 1e9
				case stampNanos:
					s.nanos += int64(int32(value))
				}
				return nil
			})
		}
		return nil
	})
	return s, err
}

// eachField calls visit with each field's number and its value: a varint, or the bytes of a
// length-delimited field (non-nil, possibly empty); other wire types are skipped.
func eachField(b []byte, visit func(protowire.Number, uint64, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var err error
		switch typ {
		case protowire.VarintType:
			var value uint64
			value, n = protowire.ConsumeVarint(b)
			if n >= 0 {
				err = visit(num, value, nil)
			}
		case protowire.BytesType:
			var value []byte
			value, n = protowire.ConsumeBytes(b)
			if value == nil {
				value = []byte{} // an empty message is still a message
			}
			if n >= 0 {
				err = visit(num, 0, value)
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
