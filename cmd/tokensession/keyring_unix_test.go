//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"

	"github.com/tokensession/tokensession"
)

// TestKeyringKeepsOwner edits a file whose owner (as root) or group (as a
// user in two groups) is not the editor's: the rewrite keeps them.
func TestKeyringKeepsOwner(t *testing.T) {
	file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	uid, gid := os.Getuid(), os.Getgid()
	switch {
	case uid == 0:
		uid, gid = 4321, 4322
	default:
		groups, _ := os.Getgroups()
		for _, g := range groups {
			if g != gid {
				gid = g
				break
			}
		}
		if gid == os.Getgid() {
			t.Skip("not root and in no second group: cannot give the file another owner or group")
		}
	}
	if err := os.Chown(file, uid, gid); err != nil {
		t.Fatal(err)
	}
	checkResult(t, exec(t, t0, nil, "", "keyring", "add", "-file", file), 0, "")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if int(sys.Uid) != uid || int(sys.Gid) != gid {
		t.Errorf("owner %d:%d after add, want %d:%d", sys.Uid, sys.Gid, uid, gid)
	}
}
