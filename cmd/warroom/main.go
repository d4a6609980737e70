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
	// SIGHUP reloads serve's configuration, as it does Prometheus's.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	code := runWith(ctx, &cli{stdout: os.Stdout, stderr: os.Stderr, reload: hup}, os.Args[1:])
	stop()
	os.Exit(code)
}
