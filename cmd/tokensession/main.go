// Command tokensession manages the keys of
// [github.com/tokensession/tokensession] and inspects its session tokens.
//
//	tokensession keygen                 print a new k4.local key
//	tokensession id [KEY]               print a key's k4.lid ID
//	tokensession keyring add|import|promote|reschedule|retire|prune|list -file FILE …
//	tokensession inspect [FLAGS] [TOKEN | COOKIE-HEADER]
//
// Run "tokensession help COMMAND" for a command's usage. Secrets are printed
// only by keygen, on purpose; every other command shows keys by ID.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
)

// envNow names the environment variable that replaces the clock, for tests.
const envNow = "TOKENSESSION_NOW"

const usageMain = `Usage: tokensession COMMAND [FLAGS] [ARGS]

Manage the keys of github.com/tokensession/tokensession and inspect its
session tokens.

Commands:
  keygen            print a new k4.local key on stdout, its k4.lid ID on stderr
  id [KEY]          print the k4.lid ID of a key (argument or stdin)
  keyring add       generate a key and list it first in a JSON keyring file,
                    staged for the rollout window (default 1h)
  keyring import    copy a key, with its times, into another keyring file
  keyring promote   make a staged key seal now (the rollout is done)
  keyring reschedule
                    move a staged key's not_before later (the rollout is
                    late)
  keyring retire    set a key's not_after, by default the earliest time
                    that ends no session early
  keyring prune     drop the keys retired for longer than idle + leeway
  keyring list      show each key's position, ID, state and times
  inspect [TOKEN]   decrypt a token or Cookie header and check it
  help [COMMAND]    show a command's usage

Run 'tokensession COMMAND -h' for a command's flags, and 'tokensession
keyring -h' for a key rotation step by step.

No command prints a secret but keygen: keys are shown by their k4.lid ID,
and nothing typed where a key does not belong is repeated in a message.

Environment:
  SESSION_KEYS, SESSION_KEYRING, CREDENTIALS_DIRECTORY
                    keys for inspect when no flag names them, read as the
                    library's EnvKeySource reads them: SESSION_KEYS holds
                    k4.local keys separated by white space; SESSION_KEYRING
                    holds inline keyring JSON when its first non-space
                    character is "{", and otherwise the path of a keyring
                    file or of a directory holding one; CREDENTIALS_DIRECTORY
                    (systemd's LoadCredential=), consulted only when
                    neither is set, is a directory holding a file named
                    session-keyring or session-keys. Both SESSION_KEYS and
                    SESSION_KEYRING set, or one set but empty, is an error.
                    See 'tokensession inspect -h'.
  TOKENSESSION_NOW  for testing only: an RFC 3339 time used instead of
                    the system clock

Exit status: 0 on success, 2 for a usage error, 1 for any other error
(for inspect, also a token that is not valid now).
`

// A command is one (sub)command of the CLI.
type command struct {
	name  string // as typed: "keygen", "keyring add"
	usage string
	run   func(c *cli, args []string) error
}

var commands []*command

func init() {
	// Assigned in init because the commands' run functions reach back into
	// the table (help).
	commands = []*command{
		{"keygen", usageKeygen, runKeygen},
		{"id", usageID, runID},
		{"keyring", usageKeyring, nil},
		{"keyring add", usageKeyringAdd, runKeyringAdd},
		{"keyring import", usageKeyringImport, runKeyringImport},
		{"keyring promote", usageKeyringPromote, runKeyringPromote},
		{"keyring reschedule", usageKeyringReschedule, runKeyringReschedule},
		{"keyring retire", usageKeyringRetire, runKeyringRetire},
		{"keyring prune", usageKeyringPrune, runKeyringPrune},
		{"keyring list", usageKeyringList, runKeyringList},
		{"inspect", usageInspect, runInspect},
		{"help", usageHelp, runHelp},
	}
}

func lookup(name string) *command {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

// cli is one invocation's environment.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	// lookupEnv reads the environment, as os.LookupEnv does: a variable
	// set but empty is not an unset one.
	lookupEnv func(string) (string, bool)
}

// A cliError ends the command with an exit code and a one-line message.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// errHelp reports that -h printed the usage: exit status 0.
var errHelp = errors.New("help requested")

// usageErrorf returns an error that exits with status 2.
func usageErrorf(format string, args ...any) error {
	return &cliError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// errorf returns an error that exits with status 1.
func errorf(format string, args ...any) error {
	return &cliError{code: 1, msg: fmt.Sprintf(format, args...)}
}

// libMessage returns err's message without the package prefix that every
// tokensession error carries, so that the CLI's own prefix is not doubled.
// The library's messages never contain secrets.
func libMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "tokensession: ")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	return runEnv(args, stdin, stdout, stderr, now, os.LookupEnv)
}

// runEnv is run with the environment injected, for tests.
func runEnv(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time, lookupEnv func(string) (string, bool)) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, now: now, lookupEnv: lookupEnv}
	err := c.dispatch(args)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	}
	code := 1
	var ce *cliError
	if errors.As(err, &ce) {
		code = ce.code
		if ce.msg == "" {
			// The command has said why on stdout.
			return code
		}
	}
	// One line, whatever the message holds, and never a secret key even
	// if one was typed where something else belonged.
	msg := redact(strings.Join(strings.Fields(err.Error()), " "))
	fmt.Fprintln(stderr, "tokensession: "+msg)
	return code
}

func (c *cli) dispatch(args []string) error {
	if v, _ := c.lookupEnv(envNow); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return usageErrorf("%s: not an RFC 3339 time (for example 2026-12-01T10:00:00Z)", envNow)
		}
		c.now = func() time.Time { return t }
	}
	if len(args) == 0 {
		return usageErrorf("missing command (run 'tokensession -h' for usage)")
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(c.stdout, usageMain)
		return errHelp
	case "keyring":
		if len(args) < 2 {
			return usageErrorf("keyring: missing subcommand: add, import, promote, reschedule, retire, prune or list (run 'tokensession keyring -h')")
		}
		switch args[1] {
		case "-h", "-help", "--help":
			fmt.Fprint(c.stdout, usageKeyring)
			return errHelp
		}
		name = "keyring " + args[1]
		args = args[1:]
	}
	cmd := lookup(name)
	if cmd == nil || cmd.run == nil {
		return usageErrorf("unknown command %s (run 'tokensession -h' for usage)", quoteArg(name))
	}
	return cmd.run(c, args[1:])
}

// parseFlags parses args for the command named name with fs, allowing flags
// after positional arguments, and returns the positional arguments. A "--"
// ends the flags. -h prints the command's usage on stdout and returns
// errHelp; any other problem is a usage error.
func (c *cli) parseFlags(name string, fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, lookup(name).usage)
			return nil, errHelp
		}
		if err != nil {
			return nil, usageErrorf("%s: %s (run 'tokensession %s -h' for usage)", name, flagError(err), name)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// warnf prints a warning on stderr, one line, never a secret.
func (c *cli) warnf(format string, args ...any) {
	c.notef("warning: "+format, args...)
}

// notef prints a note on stderr, one line, never a secret.
func (c *cli) notef(format string, args ...any) {
	msg := redact(strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " "))
	fmt.Fprintln(c.stderr, "tokensession: "+msg)
}

// readInput reads at most limit bytes from stdin.
func (c *cli) readInput(limit int) (string, error) {
	b, err := io.ReadAll(io.LimitReader(c.stdin, int64(limit)+1))
	if err != nil {
		return "", errorf("reading stdin: %v", err)
	}
	if len(b) > limit {
		return "", errorf("stdin: input larger than %d bytes", limit)
	}
	return string(b), nil
}

const usageKeygen = `Usage: tokensession keygen

Print a new random k4.local key (PASERK) on stdout and its k4.lid ID on
stderr. The key is a secret: put it straight into a secret store or an
environment variable. To start or extend a keyring file instead, use
'tokensession keyring add', which never prints the key.
`

func runKeygen(c *cli, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	pos, err := c.parseFlags("keygen", fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("keygen: takes no arguments (run 'tokensession keygen -h')")
	}
	k := tokensession.GenerateKey()
	fmt.Fprintln(c.stdout, k.UnsafeExportPASERK())
	fmt.Fprintln(c.stderr, k.ID())
	return nil
}

const usageID = `Usage: tokensession id [KEY | -]

Print the k4.lid ID of a k4.local key. With no argument or "-", read the
key from stdin; several keys separated by white space (the SESSION_KEYS
form) print one ID per line, in order. Prefer stdin: an argument shows in
the process list and the shell history.
`

// maxKeyInput bounds what id reads from stdin: many keys, no more.
const maxKeyInput = 64 << 10

func runID(c *cli, args []string) error {
	fs := flag.NewFlagSet("id", flag.ContinueOnError)
	pos, err := c.parseFlags("id", fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("id: takes at most one key (run 'tokensession id -h')")
	}
	var input string
	if len(pos) == 1 && pos[0] != "-" {
		input = pos[0]
	} else if input, err = c.readInput(maxKeyInput); err != nil {
		return err
	}
	keys := strings.Fields(input)
	if len(keys) == 0 {
		return errorf("id: no key given")
	}
	ids := make([]string, len(keys))
	for i, s := range keys {
		k, err := tokensession.ParseKey(s)
		if err != nil {
			if len(keys) > 1 {
				return errorf("id: key %d: %s", i, libMessage(err))
			}
			return errorf("id: %s", libMessage(err))
		}
		ids[i] = k.ID()
	}
	for _, id := range ids {
		fmt.Fprintln(c.stdout, id)
	}
	return nil
}

const usageHelp = `Usage: tokensession help [COMMAND]

Show the usage of COMMAND ("keygen", "id", "keyring", "keyring add",
"keyring import", "keyring promote", "keyring reschedule", "keyring
retire", "keyring prune", "keyring list", "inspect"), or of the whole
tool.
`

func runHelp(c *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, usageMain)
		return errHelp
	}
	cmd := lookup(strings.Join(args, " "))
	if cmd == nil {
		return usageErrorf("help: unknown command %s (run 'tokensession -h')", quoteArg(strings.Join(args, " ")))
	}
	fmt.Fprint(c.stdout, cmd.usage)
	return errHelp
}
