// Checks the connection: the gateway's session with TWS, its accounts, paper or live.
//
//	IBKR_BROKER_ADDR=127.0.0.1:50051 go run ./examples/status
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
	"github.com/ibkr-broker/ibkr-broker/sdk/go/ibkrbroker"
)

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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, err := client.GetStatus(ctx, &v1.GetStatusRequest{})
	if err != nil {
		return fmt.Errorf("cannot reach ibkr-broker at %s: %w", addr, err)
	}
	fmt.Printf("connection: %s\n", status.GetConnectionState())
	fmt.Printf("accounts: %v (paper trading: %t)\n", status.GetAccounts(), status.GetPaperTrading())
	fmt.Printf("trading enabled: %t %s\n", status.GetTradingEnabled(), status.GetTradingDisabledReason())
	return nil
}
