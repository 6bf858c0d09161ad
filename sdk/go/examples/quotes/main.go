// Streams live quotes of two stocks and stops after a few updates.
//
//	go run ./examples/quotes
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
	"github.com/ibkr-broker/ibkr-broker/sdk/go/ibkrbroker"
)

const wanted = 5

func main() {
	if err := run(ibkrbroker.AddrFromEnv()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	client, err := ibkrbroker.Dial(addr)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel() // cancelling the context ends the stream at the server too
	stream, err := client.StreamQuotes(ctx, &v1.StreamQuotesRequest{Contracts: []*v1.Contract{
		{SecurityType: v1.SecurityType_SECURITY_TYPE_STOCK, Symbol: "AAPL"},
		{SecurityType: v1.SecurityType_SECURITY_TYPE_STOCK, Symbol: "MSFT"},
	}})
	if err != nil {
		return err
	}
	for seen := 0; seen < wanted; {
		message, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("quote stream: %w", err)
		}
		if status := message.GetStatus(); status != nil {
			fmt.Printf("#%d %s: %s\n", message.GetSequence(), status.GetContract().GetSymbol(),
				status.GetState())
		}
		for _, q := range message.GetQuotes().GetQuotes() {
			fmt.Printf("#%d %s bid %s ask %s last %s\n", message.GetSequence(), q.GetSymbol(),
				q.GetBid(), q.GetAsk(), q.GetLast())
			if q.GetBid() != "" { // the first quote of a contract may have no bid yet
				seen++
			}
		}
	}
	return nil
}
