package tokensession

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Names of the environment variables [EnvKeySource] reads, and of the
// files it looks for in a credentials directory.
const (
	envKeys        = "SESSION_KEYS"
	envKeyring     = "SESSION_KEYRING"
	envCredentials = "CREDENTIALS_DIRECTORY"

	credKeyring = "session-keyring"
	credKeys    = "session-keys"
)

// ErrNoKeySource reports that the environment names no keys: none of
// SESSION_KEYS, SESSION_KEYRING and CREDENTIALS_DIRECTORY is set, or
// CREDENTIALS_DIRECTORY holds no session-keyring or session-keys file.
var ErrNoKeySource = errors.New("tokensession: no keys: set SESSION_KEYS or SESSION_KEYRING")

// A KeySource is where a program's keys come from: a string held in memory
// (the value of SESSION_KEYS, or inline keyring JSON), a keyring file, or a
// directory of credentials. Get one from [EnvKeySource] or [FileKeySource],
// read it with [KeySource.Load], and keep a manager current with it with a
// [KeyringWatcher].
//
// A KeySource names itself by where it was found, the environment variable
// or "keyring file", never by its value: errors from it contain no path,
// no file content and no key, whatever was pasted where.
//
// A file source reads a regular file, following symlinks (as a Kubernetes
// Secret volume's are), of at most 1 MiB: room for thousands of keys. A
// larger file, a device such as /dev/zero, a named pipe or a socket fails
// to load, without reading it.
//
// The zero KeySource is invalid: Load fails with [ErrNoKeySource].
type KeySource struct {
	name string // safe to print: a variable name or "keyring file"
	at   *keyLocation
}

// A keyLocation is what a KeySource must not print: the keys themselves,
// for an in-memory source, or the path of a file or a directory of
// credentials. fmt follows a pointer it cannot call methods on at most
// once (for a bad verb on a struct holding a KeySource in an unexported
// field), so the value is two pointers away from the KeySource.
type keyLocation struct {
	isPath bool
	value  *string
}

func inlineKeys(keys string) *keyLocation { return &keyLocation{value: &keys} }
func keyPath(path string) *keyLocation    { return &keyLocation{isPath: true, value: &path} }

func (s KeySource) inline() string {
	if s.at == nil || s.at.isPath {
		return ""
	}
	return *s.at.value
}

func (s KeySource) path() string {
	if s.at == nil || !s.at.isPath {
		return ""
	}
	return *s.at.value
}

// FileKeySource returns the source that reads path: a keyring file, or a
// directory of credentials holding a file named session-keyring or
// session-keys (see [EnvKeySource] for the file forms). It does no I/O.
// Errors name it "keyring file", not by its path. Load reads only a
// regular file (symlinks to one are followed) of at most 1 MiB.
func FileKeySource(path string) KeySource {
	return KeySource{name: "keyring file", at: keyPath(path)}
}

// EnvKeySource returns the key source the environment names. lookupEnv is
// [os.LookupEnv] when nil; pass another to read a platform's bindings or a
// test's map.
//
// The variables, in order of precedence:
//
//   - SESSION_KEYS: k4.local keys separated by white space, the first one
//     sealing, as [ParseKeyringEnv] reads them.
//   - SESSION_KEYRING: inline keyring JSON when its first non-space
//     character is "{"; otherwise the path of a keyring file, or of a
//     directory holding one (as for CREDENTIALS_DIRECTORY).
//   - CREDENTIALS_DIRECTORY (set by systemd for LoadCredential=), consulted
//     only when neither variable above is set: a directory holding a file
//     named session-keyring or session-keys.
//
// Setting both SESSION_KEYS and SESSION_KEYRING is an error, and so is a
// variable that is set but empty or white space. A file, found by path or
// in a directory, is a regular file of at most 1 MiB; it holds keyring
// JSON when its first non-space byte is "{", and keys as in SESSION_KEYS
// otherwise. A directory must hold exactly one
// of session-keyring and session-keys: Docker and Kubernetes mount secrets
// as such files (a Secret with the key session-keyring, or
// /run/secrets/session-keyring).
//
// EnvKeySource reads only the environment, except that it looks into
// CREDENTIALS_DIRECTORY to tell whether it holds keys. When no variable
// names keys it returns an error matching [ErrNoKeySource]. Its errors name
// the variables, never their values.
func EnvKeySource(lookupEnv func(string) (string, bool)) (KeySource, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	keys, hasKeys := lookupEnv(envKeys)
	ring, hasRing := lookupEnv(envKeyring)
	switch {
	case hasKeys && hasRing:
		return KeySource{}, errors.New("tokensession: both SESSION_KEYS and SESSION_KEYRING are set: set one")
	case hasKeys:
		if strings.TrimSpace(keys) == "" {
			return KeySource{}, errors.New("tokensession: SESSION_KEYS is set but empty")
		}
		return KeySource{name: envKeys, at: inlineKeys(keys)}, nil
	case hasRing:
		trimmed := strings.TrimSpace(ring)
		switch {
		case trimmed == "":
			return KeySource{}, errors.New("tokensession: SESSION_KEYRING is set but empty")
		case trimmed[0] == '{':
			return KeySource{name: envKeyring, at: inlineKeys(ring)}, nil
		}
		return KeySource{name: envKeyring, at: keyPath(ring)}, nil
	}
	dir, ok := lookupEnv(envCredentials)
	if !ok {
		return KeySource{}, ErrNoKeySource
	}
	if strings.TrimSpace(dir) == "" {
		return KeySource{}, errors.New("tokensession: CREDENTIALS_DIRECTORY is set but empty")
	}
	src := KeySource{name: envCredentials, at: keyPath(dir)}
	if _, _, err := src.file(); errors.Is(err, fs.ErrNotExist) {
		return KeySource{}, sourceError(envCredentials, &causeError{"holds neither " + credKeyring + " nor " + credKeys, ErrNoKeySource})
	}
	return src, nil
}

// String returns the source's name: the environment variable it came from,
// or "keyring file". It never contains a path or a key.
func (s KeySource) String() string {
	if s.name == "" {
		return "tokensession.KeySource(none)"
	}
	return s.name
}

// Load reads the source and returns its keyring. Each call reads a file
// source afresh. Errors name the source (see [KeySource.String]) and,
// for a bad keyring, the entry and field, never a path or key material;
// they match [ErrInvalidKey] for bad keys and [fs.ErrNotExist] for a
// missing file.
func (s KeySource) Load() (*Keyring, error) {
	switch {
	case s.name == "":
		return nil, ErrNoKeySource
	case s.name == envKeys:
		ring, err := ParseKeyringEnv(s.inline())
		if err != nil {
			return nil, sourceError(s.name, err)
		}
		return ring, nil
	case s.path() == "":
		ring, err := ParseKeyringJSON([]byte(s.inline()))
		if err != nil {
			return nil, sourceError(s.name, err)
		}
		return ring, nil
	}
	name, path, err := s.file()
	if err != nil {
		return nil, err
	}
	data, err := readKeyFile(path)
	if err != nil {
		return nil, sourceError(name, err)
	}
	ring, err := parseKeyringData(data)
	if err != nil {
		return nil, sourceError(name, err)
	}
	return ring, nil
}

// maxKeyFile bounds the size of a file a [KeySource] reads: 1 MiB. An
// entry of keyring JSON with both times takes about 170 bytes as
// UnsafeMarshalJSON writes it (a key in the SESSION_KEYS form, 53), so a
// keyring of 6000 keys fits, thousands more than a rotation keeps.
const maxKeyFile = 1 << 20

// readKeyFile reads the keyring file at path, following symlinks. It
// reads only a regular file, of at most maxKeyFile bytes: a device
// (/dev/zero) would be read without end, and a named pipe would block
// until a writer comes. Its errors name no path.
func readKeyFile(path string) ([]byte, error) {
	// Stat first: opening a named pipe blocks.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathError(err)
	}
	if err := regularFile(fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, pathError(err)
	}
	defer f.Close()
	// The path may name another file by now (a symlink swapped): check
	// the one opened.
	if fi, err = f.Stat(); err != nil {
		return nil, pathError(err)
	}
	if err := regularFile(fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, pathError(err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes (1 MiB), not a keyring file", maxKeyFile)
	}
	return data, nil
}

// regularFile returns an error unless fi describes a regular file.
func regularFile(fi fs.FileInfo) error {
	t := fi.Mode().Type()
	switch {
	case t == 0:
		return nil
	case t&fs.ModeDir != 0:
		return errors.New("is a directory, not a regular file")
	case t&fs.ModeNamedPipe != 0:
		return errors.New("is a named pipe, not a regular file")
	case t&fs.ModeSocket != 0:
		return errors.New("is a socket, not a regular file")
	case t&fs.ModeDevice != 0:
		return errors.New("is a device, not a regular file")
	}
	return errors.New("is not a regular file")
}

// file returns the file a path source reads now and its printable name:
// the path itself, or the one of session-keyring and session-keys present
// when the path is a directory.
func (s KeySource) file() (name, path string, err error) {
	fi, err := os.Stat(s.path())
	if err != nil {
		return s.name, "", sourceError(s.name, pathError(err))
	}
	if !fi.IsDir() {
		return s.name, s.path(), nil
	}
	var found []string
	for _, base := range []string{credKeyring, credKeys} {
		if _, err := os.Stat(filepath.Join(s.path(), base)); err == nil {
			found = append(found, base)
		}
	}
	switch len(found) {
	case 0:
		return s.name, "", sourceError(s.name, fmt.Errorf("directory holds neither %s nor %s: %w", credKeyring, credKeys, fs.ErrNotExist))
	case 2:
		return s.name, "", sourceError(s.name, fmt.Errorf("directory holds both %s and %s: keep one", credKeyring, credKeys))
	}
	return s.name + "/" + found[0], filepath.Join(s.path(), found[0]), nil
}

// A keySourceError is an error reading a named source. Its message is
// "tokensession: NAME: cause", where NAME is a variable name or a fixed
// file name, never a path or a value.
type keySourceError struct {
	name string
	err  error
}

func sourceError(name string, err error) error { return &keySourceError{name, err} }

func (e *keySourceError) Error() string {
	return "tokensession: " + e.name + ": " + strings.TrimPrefix(e.err.Error(), "tokensession: ")
}

func (e *keySourceError) Unwrap() error { return e.err }

// A causeError is a message of its own that matches a sentinel.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// pathError returns the cause of a file system error without the path it
// names: the path might be a secret pasted into the wrong variable.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return errors.New("cannot read")
}

// parseKeyringData parses the content of a key source: keyring JSON when
// its first non-space byte is '{', keys separated by white space
// otherwise.
func parseKeyringData(data []byte) (*Keyring, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, keyError(-1, "no keys: empty")
	case trimmed[0] == '{':
		return ParseKeyringJSON(data)
	}
	return ParseKeyringEnv(string(data))
}
