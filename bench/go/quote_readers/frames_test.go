package main

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
)

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEveryQuoteOfABatchGivesItsContractAndUpdateTime(t *testing.T) {
	data := marshal(t, &v1.StreamQuotesResponse{Sequence: 7, Payload: &v1.StreamQuotesResponse_Quotes{
		Quotes: &v1.QuoteBatch{Quotes: []*v1.Quote{
			{ConId: 265598, Symbol: "AAPL", Bid: "189.01", Ask: "189.02",
				UpdateTime: &timestamppb.Timestamp{Seconds: 1_800_000_000, Nanos: 123_456_789}},
			{ConId: 272093, Symbol: "MSFT", Last: "410.5",
				LastTradeTime: &timestamppb.Timestamp{Seconds: 5},
				UpdateTime:    &timestamppb.Timestamp{Seconds: 1_800_000_001}},
			{ConId: 756733},
		}, CoalescedUpdates: 3},
	}})
	got, err := appendQuotes([]stamp{{conID: 1, nanos: 1}}, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []stamp{{1, 1}, {265598, 1_800_000_000_123_456_789}, {272093, 1_800_000_001_000_000_000},
		{756733, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestStatusAndHeartbeatMessagesHoldNoQuote(t *testing.T) {
	for _, m := range []*v1.StreamQuotesResponse{
		{Sequence: 1, Payload: &v1.StreamQuotesResponse_Status{Status: &v1.QuoteStatus{
			Contract: &v1.Contract{ConId: 265598, Symbol: "AAPL"}}}},
		{Sequence: 2, Payload: &v1.StreamQuotesResponse_Heartbeat{Heartbeat: &v1.Heartbeat{}}},
		{Sequence: 3, Payload: &v1.StreamQuotesResponse_Quotes{Quotes: &v1.QuoteBatch{}}},
	} {
		got, err := appendQuotes(nil, marshal(t, m))
		if err != nil || len(got) != 0 {
			t.Fatalf("%v: got %v, %v; want no quote", m, got, err)
		}
	}
}

func TestACutMessageIsAnError(t *testing.T) {
	data := marshal(t, &v1.StreamQuotesResponse{Payload: &v1.StreamQuotesResponse_Quotes{
		Quotes: &v1.QuoteBatch{Quotes: []*v1.Quote{{ConId: 265598, Symbol: "AAPL"}}}}})
	if _, err := appendQuotes(nil, data[:len(data)-2]); err == nil {
		t.Fatal("a message cut short parsed without an error")
	}
}
