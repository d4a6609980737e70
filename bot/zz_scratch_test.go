package bot

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestScratchConfig(t *testing.T) {
	fs, _ := filepath.Glob("testdata/config/*.yaml")
	fs = append(fs, "../../shared/examples/warroom.yaml")
	for _, f := range fs {
		c, p, err := Load(f)
		fmt.Printf("=== %s\nerr: %v\nproblems: %v\n", f, err, p)
		if c != nil {
			fmt.Printf("%+v\n", *c)
		}
	}
}
