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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
