package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `warroom — the SRE war-room bot

Usage:
  warroom demo                                the whole job on this laptop, with in-process fakes (about 5 s)
  warroom serve [--config FILE]               run the bot (no config: SQLite in ./warroom.db, loopback, dry run)
  warroom check-config [--online] [--log-format json] FILE
                                              validate a config file (--online: ask Slack and Jira too)
  warroom simulate [--config FILE] PAYLOAD    decide on a webhook payload without side effects
  warroom incidents list [--all] [--state S] [--service S]
  warroom incidents show|ack|resolve ID       drive a running server (--server URL, token in WARROOM_TOKEN)
  warroom deploys record --service S --sha SHA [--env E --previous-sha P --author A --url U --finished-at T]
  warroom deploys list [--service S]          record a deploy from CI (token in WARROOM_DEPLOY_TOKEN, else
                                              WARROOM_TOKEN), or list them
  warroom migrate [--config FILE]             apply store migrations
  warroom version

Every client command takes -o json for machine-readable output.
`

// errUsage marks errors that should print the usage line (exit 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serve(ctx, rest, stderr)
	case "check-config":
		err = checkConfig(rest, stdout, stderr)
	case "simulate":
		err = simulate(rest, stdout)
	case "demo":
		err = demo(ctx, rest, stdout)
	case "incidents":
		err = incidents(ctx, rest, stdout)
	case "deploys":
		err = deploys(ctx, rest, stdout)
	case "migrate":
		err = migrate(ctx, rest, stdout)
	case "version":
		fmt.Fprintln(stdout, "warroom", buildVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "warroom: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "warroom: %v\n\n%s", err, usage)
		}
		return 2
	}
	fmt.Fprintf(stderr, "warroom: %v\n", err)
	return 1
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("warroom "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses flags that may stand before or after the positional
// arguments, as runbooks write them both ways.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadConfig loads FILE, or the embedded defaults when path is empty.
// Problems such as missing secret files are printed as warnings.
func loadConfig(path string, warn io.Writer) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	cfg, problems, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	for _, p := range problems {
		fmt.Fprintf(warn, "warning: %s\n", p)
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve")
	path := fs.String("config", "", "config file (default: embedded defaults)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for benchmarks)")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	log := newLogger(stderr, *logFormat)
	tuneGC()
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	srv, err := bot.New(ctx, cfg, bot.Deps{Logger: log})
	if err != nil {
		return err
	}
	if *path == "" {
		log.Info("no --config: embedded defaults (SQLite in warroom.db, Slack and Jira in dry run)", "dry_run_log", cfg.DryRunLog)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return srv.Run(ctx)
}

// tuneGC trades memory for CPU where the operator has not chosen: the
// SQLite driver allocates on every statement, and at the default GOGC=100
// a webhook storm spends a fifth of the CPU collecting (BENCHMARKS.md).
// GOGC=400 with a 1 GiB soft limit keeps the heap small for a bot with a
// live heap of tens of megabytes. GOGC and GOMEMLIMIT override both.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

func newLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func checkConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config")
	online := fs.Bool("online", false, "also ask Slack and Jira: tokens, announce channel, user groups, project, priorities, fields")
	logFormat := fs.String("log-format", "text", "log format of the errors and warnings: text or json")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: check-config takes one FILE", errUsage)
	}
	log := newLogger(stderr, *logFormat)
	cfg, diags := config.Check(rest[0])
	var errs, warnings int
	for _, d := range diags {
		attrs := []any{"file", d.File}
		if d.Line > 0 {
			attrs = append(attrs, "line", d.Line)
		}
		if d.Level == config.LevelError {
			errs++
			log.Error(d.Message, attrs...)
		} else {
			warnings++
			log.Warn(d.Message, attrs...)
		}
	}
	if errs > 0 {
		return fmt.Errorf("%s: %s", rest[0], counted(errs, "error"))
	}
	if *online {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if bad := bot.CheckOnline(ctx, cfg); len(bad) > 0 {
			return fmt.Errorf("%s: %s online:\n  %s", rest[0], counted(len(bad), "problem"), strings.Join(bad, "\n  "))
		}
		fmt.Fprintln(stdout, "online: Slack and Jira accept this config")
	}
	fmt.Fprintf(stdout, "%s: OK (%s", rest[0], counted(max(len(cfg.Rules), 1), "rule")) // none: the built-in one
	if warnings > 0 {
		fmt.Fprintf(stdout, ", %s", counted(warnings, "warning"))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

// counted renders "1 error", "3 errors".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("migrate")
	path := fs.String("config", "", "config file (default: embedded defaults)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, os.Stderr)
	if err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", cfg.Storage.Driver)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%w: %q: want one of %s", errUsage, v, strings.Join(allowed, ", "))
}
