// Command warroom is the SRE war-room bot: `warroom serve` runs it, the
// other subcommands check its config, simulate decisions, and drive a
// running server from runbooks.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// SIGHUP reloads serve's configuration, as it does Prometheus's; the
	// other commands keep its default (they end).
	onHUP := func() (<-chan os.Signal, func()) {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		return hup, func() { signal.Stop(hup) }
	}
	code := runWith(ctx, &cli{stdout: os.Stdout, stderr: os.Stderr, reloadSignals: onHUP}, os.Args[1:])
	stop()
	os.Exit(code)
}
