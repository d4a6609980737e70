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
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident/sqlstore"
)

// cli is one run of the command line: where it writes. The commands are
// the functions of the tables below; docs/DECISIONS.md (D11) says why
// they use the standard flag package rather than a CLI library.
type cli struct {
	stdout, stderr io.Writer
	// reloadSignals starts taking SIGHUP, on which serve reads its
	// configuration again, and returns the signals and how to stop; nil
	// (tests that run serve in-process): no signal.
	reloadSignals func() (<-chan os.Signal, func())
}

// A command is one `warroom` subcommand, or one of a group's (incidents,
// deploys).
type command struct {
	name string
	// args is the synopsis after the name, e.g. "[--config FILE] PAYLOAD.json".
	args    string
	summary string
	// run runs the command on the arguments after its name; a group's
	// commands run its subcommands instead.
	run func(ctx context.Context, c *cli, args []string) error
	sub []command
}

// commands are warroom's commands, in the order the usage lists them.
var commands = []command{
	{name: "demo", args: "[-v]", summary: "the whole job on this laptop, with in-process fakes (a few seconds once built)",
		run: func(ctx context.Context, c *cli, args []string) error { return demo(ctx, args, c.stdout) }},
	{name: "serve", args: "[--config FILE] [--listen ADDR] [--log-format text|json]",
		summary: "run the bot (no config: SQLite in ./warroom.db, loopback, dry run)", run: serve},
	{name: "check-config", args: "[--online] [--log-format text|json] FILE", summary: "validate a config file (--online: ask Slack and Jira too)",
		run: func(_ context.Context, c *cli, args []string) error { return checkConfig(args, c.stdout, c.stderr) }},
	{name: "simulate", args: "[--config FILE] [-o text|json] PAYLOAD.json", summary: "decide on a webhook payload without side effects",
		run: func(_ context.Context, c *cli, args []string) error { return simulate(args, c.stdout) }},
	{name: "incidents", summary: "drive the incidents of a running server (--server URL, token in WARROOM_TOKEN)", sub: incidentCommands},
	{name: "deploys", summary: "record a deploy from CI (token in WARROOM_DEPLOY_TOKEN, else WARROOM_TOKEN), or list them", sub: deployCommands},
	{name: "report", args: "[--since 30d] [--server URL] [-o json]", summary: "per service, the incidents opened since then: war rooms, times to acknowledge and resolve, rollbacks (--server URL)", run: report},
	{name: "postmortem", args: "ID [--server URL]", summary: "print the draft of an incident's postmortem, in Markdown (token in WARROOM_TOKEN)", run: postmortemCommand},
	{name: "migrate", args: "[--config FILE]", summary: "apply the store's migrations", run: migrate},
	{name: "version", summary: "print the version (also --version)", run: func(_ context.Context, c *cli, args []string) error {
		if _, err := parseFlags(newFlags("version"), args); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "warroom", versionString(version, debug.ReadBuildInfo))
		return nil
	}},
}

// errUsage marks a command line warroom cannot run (exit 2).
var errUsage = errors.New("usage")

// helpRequest is -h or --help: the command's help goes to stdout (exit 0).
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return "help requested" }
func (h *helpRequest) Unwrap() error { return flag.ErrHelp }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, &cli{stdout: stdout, stderr: stderr}, args)
}

// runWith runs the command line args with c.
func runWith(ctx context.Context, c *cli, args []string) int {
	stderr := c.stderr
	if len(args) == 0 {
		c.usage(stderr)
		return 2
	}
	switch args[0] {
	case "--version", "-version":
		args = []string{"version"}
	case "help", "-h", "--help", "-help":
		return c.help(args[1:])
	}
	cmds, path := commands, []string{}
	for {
		cmd := find(cmds, args[0])
		if cmd == nil {
			return c.unknown(path, args[0])
		}
		path, args = append(path, cmd.name), args[1:]
		if cmd.sub == nil {
			return c.exit(path, cmd, cmd.run(ctx, c, args))
		}
		if len(args) == 0 {
			fmt.Fprintf(stderr, "warroom %s needs a command: %s\n\n", cmd.name, names(cmd.sub))
			c.groupUsage(stderr, cmd)
			return 2
		}
		if isHelp(args[0]) {
			c.groupUsage(c.stdout, cmd)
			return 0
		}
		cmds = cmd.sub
	}
}

func find(cmds []command, name string) *command {
	for i := range cmds {
		if cmds[i].name == name {
			return &cmds[i]
		}
	}
	return nil
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func names(cmds []command) string {
	var ns []string
	for _, c := range cmds {
		ns = append(ns, c.name)
	}
	return strings.Join(ns, ", ")
}

// exit reports how a command ended and returns its exit code.
func (c *cli) exit(path []string, cmd *command, err error) int {
	name := "warroom " + strings.Join(path, " ")
	var help *helpRequest
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		c.commandUsage(c.stdout, name, cmd, help.fs)
		return 0
	case errors.Is(err, errUsage):
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), errUsage.Error()), ": ")
		fmt.Fprintf(c.stderr, "%s: %s\nRun '%s --help' for its usage.\n", name, msg, name)
		return 2
	}
	fmt.Fprintln(c.stderr, errorLine(err))
	return 1
}

// errorLine is how a failure is printed: after "warroom: ", unless the
// message already starts with warroom's name (a path such as
// "warroom.yaml:5: …"), which is not doubled.
func errorLine(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "warroom") {
		return msg
	}
	return "warroom: " + msg
}

func (c *cli) unknown(path []string, name string) int {
	if len(path) == 0 {
		fmt.Fprintf(c.stderr, "warroom: unknown command %q\n\n", name)
		c.usage(c.stderr)
		return 2
	}
	group := find(commands, path[0])
	fmt.Fprintf(c.stderr, "warroom %s: unknown command %q (want %s)\n\n", group.name, name, names(group.sub))
	c.groupUsage(c.stderr, group)
	return 2
}

// help answers `warroom help [COMMAND [SUBCOMMAND]]`.
func (c *cli) help(args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return 0
	}
	return run(context.Background(), append(args, "--help"), c.stdout, c.stderr)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "warroom — the SRE war-room bot\n\nUsage:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, cmd := range commands {
		if cmd.sub != nil {
			fmt.Fprintf(tw, "  warroom %s %s\t%s\n", cmd.name, strings.ReplaceAll(names(cmd.sub), ", ", "|"), cmd.summary)
			continue
		}
		fmt.Fprintf(tw, "  warroom %s %s\t%s\n", cmd.name, cmd.args, cmd.summary)
	}
	_ = tw.Flush()
	fmt.Fprint(w, "\n'warroom COMMAND --help' shows a command's flags; the client commands take -o json.\n")
}

func (c *cli) groupUsage(w io.Writer, group *command) {
	fmt.Fprintf(w, "warroom %s: %s\n\nUsage:\n", group.name, group.summary)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, cmd := range group.sub {
		fmt.Fprintf(tw, "  warroom %s %s %s\t%s\n", group.name, cmd.name, cmd.args, cmd.summary)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n'warroom %s COMMAND --help' shows a command's flags.\n", group.name)
}

// commandUsage prints a command's synopsis, what it does and its flags.
func (c *cli) commandUsage(w io.Writer, name string, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s\n\n%s.\n", name, cmd.args, strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		if arg != "" {
			arg = " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && !strings.Contains(text, "(default") {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s%s%s\t%s\n", dashes, f.Name, arg, text)
	})
	_ = tw.Flush()
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
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequest{fs}
		} else if err != nil {
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

// plural is "1 rule", "2 rules".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
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

// serveConfig is serve's configuration: FILE (the embedded defaults when
// path is empty) with --listen over it. A secret that is configured but
// cannot be resolved is an error: serve does not start (or reload)
// without it.
func serveConfig(path, listen string) (*config.Config, error) {
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.LoadStrict(path); err != nil {
			return nil, err
		}
	}
	if listen != "" {
		cfg.Listen = listen
	}
	return cfg, nil
}

func serve(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("serve")
	path := fs.String("config", "", "config `FILE` (default: embedded defaults)")
	listen := fs.String("listen", "", "listen on `ADDR`, host:port (default: the config's listen, 127.0.0.1:9095)")
	logFormat := fs.String("log-format", "text", "log `FORMAT`: text or json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `FILE` until shutdown (for benchmarks)")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	if err := oneOf(*logFormat, "text", "json"); err != nil {
		return err
	}
	log := newLogger(c.stderr, *logFormat)
	tuneGC()
	cfg, err := serveConfig(*path, *listen)
	if err != nil {
		return err
	}
	srv, err := bot.New(ctx, cfg, bot.Deps{Logger: log, Version: version,
		Load: func() (*config.Config, error) { return serveConfig(*path, *listen) }})
	if err != nil {
		return err
	}
	var reload <-chan os.Signal // nil: never
	if c.reloadSignals != nil {
		var stopSignals func()
		reload, stopSignals = c.reloadSignals()
		defer stopSignals()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
				log.Info("SIGHUP: reloading the configuration", "config", *path)
				_, _ = srv.Reload(ctx) // Reload logs how it went
			}
		}
	}()
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
		return fmt.Errorf("%s: %s", rest[0], plural(errs, "error", "errors"))
	}
	if *online {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if bad := bot.CheckOnline(ctx, cfg); len(bad) > 0 {
			return fmt.Errorf("%s: %s online:\n  %s", rest[0], plural(len(bad), "problem", "problems"), strings.Join(bad, "\n  "))
		}
		fmt.Fprintln(stdout, "online: Slack and Jira accept this config")
	}
	fmt.Fprintf(stdout, "%s: OK (%s", rest[0], plural(max(len(cfg.Rules), 1), "rule", "rules")) // none: the built-in one
	if warnings > 0 {
		fmt.Fprintf(stdout, ", %s", plural(warnings, "warning", "warnings"))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

func migrate(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("migrate")
	path := fs.String("config", "", "config `FILE` (default: embedded defaults)")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	cfg, err := loadConfig(*path, c.stderr)
	if err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }()
	fmt.Fprintf(c.stdout, "migrations applied (%s)\n", cfg.Storage.Driver)
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
