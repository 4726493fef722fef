// Command godist writes one version of a Go module in GOPROXY layout, so
// that `GOPROXY=file://<out>` serves it to `go get`:
//
//	<out>/<module path>/@v/list
//	<out>/<module path>/@v/<version>.info
//	<out>/<module path>/@v/<version>.mod
//	<out>/<module path>/@v/<version>.zip
//
// The zip is made by golang.org/x/mod/zip, which applies the same rules and
// limits as the go command. `make dist` runs it on a staged copy of
// bindings/go that includes the static library.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

func main() {
	modPath := flag.String("module", "", "module path")
	version := flag.String("version", "", "version, e.g. v0.1.0")
	dir := flag.String("dir", "", "module directory (holds go.mod)")
	out := flag.String("out", "", "GOPROXY root to write into")
	stamp := flag.String("time", "", "version time, RFC 3339 (default: now)")
	maxZip := flag.Int64("max-zip", 20<<20, "fail when the zip is larger (bytes)")
	flag.Parse()
	if *modPath == "" || *version == "" || *dir == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*modPath, *version, *dir, *out, *stamp, *maxZip); err != nil {
		fmt.Fprintln(os.Stderr, "godist:", err)
		os.Exit(1)
	}
}

func run(modPath, version, dir, out, stamp string, maxZip int64) error {
	mv := module.Version{Path: modPath, Version: version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return err
	}
	if semver.Canonical(version) != version {
		return fmt.Errorf("version %q is not canonical semver", version)
	}
	t := time.Now().UTC()
	if stamp != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, stamp); err != nil {
			return fmt.Errorf("-time: %w", err)
		}
	}

	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	escaped, err := module.EscapePath(modPath)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}

	zipPath := filepath.Join(vdir, version+".zip")
	if err := writeZip(zipPath, mv, dir); err != nil {
		return err
	}
	if fi, err := os.Stat(zipPath); err != nil {
		return err
	} else if fi.Size() > maxZip {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit", zipPath, fi.Size(), maxZip)
	}

	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, t.UTC()})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".info"), append(info, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".mod"), gomod, 0o644); err != nil {
		return err
	}
	return addToList(filepath.Join(vdir, "list"), version)
}

// writeZip writes the module zip through a temporary file, so a failure
// leaves no partial zip behind.
func writeZip(path string, mv module.Version, dir string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".zip-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = modzip.CreateFromDir(f, mv, dir); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// addToList adds version to the @v/list file, keeping it sorted and
// without duplicates, so several versions can share one proxy directory.
func addToList(path, version string) error {
	var versions []string
	if data, err := os.ReadFile(path); err == nil {
		versions = strings.Fields(string(data))
	} else if !os.IsNotExist(err) {
		return err
	}
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	semver.Sort(versions)
	return os.WriteFile(path, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}
