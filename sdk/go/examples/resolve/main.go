// Resolves a contract from a partial spec, then shows how an unknown symbol fails.
//
//	go run ./examples/resolve
package main

import (
	"context"
	"errors"
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

func stock(symbol string) *v1.Contract {
	return &v1.Contract{SecurityType: v1.SecurityType_SECURITY_TYPE_STOCK, Symbol: symbol}
}

func run(addr string) error {
	client, err := ibkrbroker.Dial(addr)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resolved, err := client.ResolveContract(ctx, &v1.ResolveContractRequest{Contract: stock("AAPL")})
	if err != nil {
		return err
	}
	for _, match := range resolved.GetMatches() {
		c := match.GetContract()
		fmt.Printf("AAPL: con_id %d, %s, %s on %s, tick %s\n", c.GetConId(), match.GetLongName(),
			c.GetCurrency(), c.GetPrimaryExchange(), match.GetMinTick())
	}
	_, err = client.ResolveContract(ctx, &v1.ResolveContractRequest{Contract: stock("NOSUCH")})
	var brokerErr *ibkrbroker.Error
	if !errors.As(err, &brokerErr) {
		return fmt.Errorf("NOSUCH: expected a not-found error, got %v", err)
	}
	fmt.Printf("NOSUCH: %v (reason %s, IB code %d)\n", brokerErr, brokerErr.Reason, brokerErr.IBCode)
	return nil
}
