//go:build !unix

package sqlstore

import "os"

// lockFile is a no-op where flock is not available.
func lockFile(string) (*os.File, error) { return nil, nil }
