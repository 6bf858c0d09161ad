// Places a limit order far below the market, cancels it, then shows how a refused order reaches
// the caller: an *ibkrbroker.Error with the reason, the field at fault and, when IB refused it,
// IB's code (a limit price off the tick size is refused by the server before it reaches IB).
//
//	go run ./examples/order
package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
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

var aapl = &v1.Contract{SecurityType: v1.SecurityType_SECURITY_TYPE_STOCK, Symbol: "AAPL"}

func buyLimit(requestID, price string) *v1.PlaceOrderRequest {
	return &v1.PlaceOrderRequest{
		RequestId: requestID, // the idempotency key: a retry with it never places a second order
		Contract:  aapl,
		Order: &v1.OrderSpec{Action: v1.OrderAction_ORDER_ACTION_BUY, Quantity: "1",
			OrderType: v1.OrderType_ORDER_TYPE_LIMIT, LimitPrice: price},
	}
}

// halfOf is half a decimal price, rounded to cents, without floating point.
func halfOf(price string) (string, error) {
	value, ok := new(big.Rat).SetString(price)
	if !ok || value.Sign() <= 0 {
		return "", fmt.Errorf("no usable price in %q", price)
	}
	return value.Quo(value, big.NewRat(2, 1)).FloatString(2), nil
}

func run(addr string) error {
	client, err := ibkrbroker.Dial(addr)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	quote, err := client.GetQuote(ctx, &v1.GetQuoteRequest{Contract: aapl})
	if err != nil {
		return err
	}
	price, err := halfOf(quote.GetQuote().GetBid())
	if err != nil {
		return err
	}
	stamp := time.Now().UnixNano()
	placed, err := client.PlaceOrder(ctx, buyLimit(fmt.Sprintf("go-example-%d", stamp), price))
	if err != nil {
		return err
	}
	order := placed.GetOrder()
	fmt.Printf("placed %s: buy 1 AAPL at %s (bid %s): %s\n", order.GetOrderId(), price,
		quote.GetQuote().GetBid(), order.GetStatus())
	cancelled, err := client.CancelOrder(ctx, &v1.CancelOrderRequest{
		RequestId: fmt.Sprintf("go-example-cancel-%d", stamp), OrderId: order.GetOrderId()})
	if err != nil {
		return err
	}
	fmt.Printf("cancelled %s: %s\n", order.GetOrderId(), cancelled.GetOrder().GetStatus())
	return showRefusal(ctx, client, fmt.Sprintf("go-example-refused-%d", stamp))
}

func showRefusal(ctx context.Context, client *ibkrbroker.Client, requestID string) error {
	_, err := client.PlaceOrder(ctx, buyLimit(requestID, "100.001"))
	var refused *ibkrbroker.Error
	if !errors.As(err, &refused) {
		return fmt.Errorf("expected a refusal of a price off the tick size, got %v", err)
	}
	fmt.Printf("refused: %v\n", refused)
	fmt.Printf("  code %s, reason %s, field %s, IB code %d\n", refused.Code, refused.Reason,
		refused.Field, refused.IBCode)
	return nil
}
