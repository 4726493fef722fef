// Command godist writes one version of a Go module in GOPROXY layout, so
// that `GOPROXY=file://<out>` serves it to `go get`:
//
//	<out>/<escaped module path>/@v/list
//	<out>/<escaped module path>/@v/<escaped version>.info
//	<out>/<escaped module path>/@v/<escaped version>.mod
//	<out>/<escaped module path>/@v/<escaped version>.zip
//
// It uses only the standard library, so it runs on an offline machine. The
// escaping is the go command's case-encoding: each uppercase letter becomes
// '!' followed by its lowercase form.
//
// It checks:
//   - the module path: not empty, only [A-Za-z0-9._~/-], no empty element,
//     no element starting or ending with '.'; a /vN suffix (N >= 2, no
//     leading zero; /v0 and /v1 are rejected) must match the version's
//     major, and a version v2 or above needs that suffix (gopkg.in paths get
//     no special treatment);
//   - the version: canonical semver vMAJOR.MINOR.PATCH[-PRERELEASE] only
//     (no "v1", "1.0.0", "v1.0.0+meta", "v01.0.0").
//
// The zip holds every regular file under -dir as
// "<module path>@<version>/<slash-separated relative path>", in sorted
// order, Deflate-compressed, each entry dated -time (or now), so the output
// is reproducible for a given -time. Like the go command it skips
// subdirectories holding their own go.mod (nested modules), directories
// named vendor, and .git, .hg, .svn and .bzr directories. It fails on a
// missing go.mod at the root, on symlinks and other irregular files, on a
// file path the go command would reject (characters, Windows-reserved
// names), on two paths equal when lowercased, on a go.mod or LICENSE over
// 16 MiB, and on a file or a total uncompressed size over 500 MiB. The zip
// is written through a temporary file and renamed into place only once it
// is complete and within -max-zip, so a failure leaves no partial or
// oversized zip behind.
//
// `make dist` runs it on a staged copy of bindings/go that includes the
// static library.
package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	if err := checkModulePath(modPath); err != nil {
		return err
	}
	sv, err := parseSemver(version)
	if err != nil {
		return err
	}
	if err := checkPathMajor(modPath, version, sv.major); err != nil {
		return err
	}
	t := time.Now().UTC()
	if stamp != "" {
		if t, err = time.Parse(time.RFC3339, stamp); err != nil {
			return fmt.Errorf("-time: %w", err)
		}
		t = t.UTC()
	}

	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, filepath.FromSlash(escapeCase(modPath)), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(vdir, escapeCase(version))

	if err := writeZip(base+".zip", modPath+"@"+version+"/", files, t, maxZip); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, t})
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".info", append(info, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".mod", gomod, 0o644); err != nil {
		return err
	}
	return addToList(filepath.Join(vdir, "list"), version)
}

// escapeCase is the go command's case-encoding of module paths and
// versions in proxy URLs and file names: each uppercase ASCII letter
// becomes '!' followed by its lowercase form. Its input has been checked,
// so it holds no '!'.
func escapeCase(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b.WriteByte('!')
			b.WriteByte(c + 'a' - 'A')
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// checkModulePath rejects empty paths, characters outside
// [A-Za-z0-9._~/-], empty elements (leading, trailing or double slashes)
// and elements starting or ending with '.'.
func checkModulePath(p string) error {
	if p == "" {
		return errors.New("module path is empty")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._~/-", c) >= 0) {
			r, _ := utf8.DecodeRuneInString(p[i:])
			return fmt.Errorf("module path %q: invalid character %q (allowed: A-Z a-z 0-9 . _ ~ / -)", p, r)
		}
	}
	for _, elem := range strings.Split(p, "/") {
		switch {
		case elem == "":
			return fmt.Errorf("module path %q: empty path element (leading, trailing or double slash)", p)
		case elem[0] == '.':
			return fmt.Errorf("module path %q: element %q starts with '.'", p, elem)
		case elem[len(elem)-1] == '.':
			return fmt.Errorf("module path %q: element %q ends with '.'", p, elem)
		}
	}
	return nil
}

// checkPathMajor applies the major version suffix rule: a module path
// ending in /vN needs N >= 2 without a leading zero and versions of major
// N; without that suffix the major must be 0 or 1.
func checkPathMajor(modPath, version, major string) error {
	if i := strings.LastIndexByte(modPath, '/'); i >= 0 {
		last := modPath[i+1:]
		if len(last) >= 2 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
			n := last[1:]
			if n[0] == '0' || n == "1" {
				return fmt.Errorf("module path %q: invalid major version suffix /%s (want /v2 or above, without leading zeros)", modPath, last)
			}
			if major != n {
				return fmt.Errorf("version %s does not match module path %q: want major version v%s", version, modPath, n)
			}
			return nil
		}
	}
	if major != "0" && major != "1" {
		return fmt.Errorf("version %s needs module path %q to end in /v%s", version, modPath, major)
	}
	return nil
}

// semver is a parsed canonical version vMAJOR.MINOR.PATCH[-PRE]. The
// numbers stay strings (without leading zeros), so no size overflows.
type semver struct {
	major, minor, patch string
	pre                 []string // dot-separated prerelease identifiers
}

// parseSemver accepts canonical semver only: a 'v', three numbers without
// leading zeros, an optional prerelease, and no build metadata.
func parseSemver(v string) (semver, error) {
	bad := func(why string) (semver, error) {
		return semver{}, fmt.Errorf("version %q is not canonical semver vMAJOR.MINOR.PATCH[-PRERELEASE]: %s", v, why)
	}
	if !strings.HasPrefix(v, "v") {
		return bad("no leading 'v'")
	}
	if strings.Contains(v, "+") {
		return bad("build metadata is not allowed")
	}
	core, pre, hasPre := strings.Cut(v[1:], "-")
	nums := strings.Split(core, ".")
	if len(nums) != 3 {
		return bad("want three numbers")
	}
	for _, n := range nums {
		if !isNum(n) {
			return bad(fmt.Sprintf("%q is not a number", n))
		}
		if len(n) > 1 && n[0] == '0' {
			return bad(fmt.Sprintf("%q has a leading zero", n))
		}
	}
	s := semver{major: nums[0], minor: nums[1], patch: nums[2]}
	if hasPre {
		s.pre = strings.Split(pre, ".")
		for _, id := range s.pre {
			if id == "" {
				return bad("empty prerelease identifier")
			}
			if strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
				return bad(fmt.Sprintf("prerelease identifier %q has characters outside [0-9A-Za-z-]", id))
			}
			if isNum(id) && len(id) > 1 && id[0] == '0' {
				return bad(fmt.Sprintf("numeric prerelease identifier %q has a leading zero", id))
			}
		}
	}
	return s, nil
}

func isNum(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// cmpNum compares decimal strings without leading zeros.
func cmpNum(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// compareSemver orders versions by semver precedence: numerically by
// major, minor and patch, then a prerelease before its release, and
// prereleases identifier by identifier (numeric ones numerically and before
// alphanumeric ones, which compare in ASCII order; a prefix first).
// Invalid versions sort before valid ones and among themselves as strings.
func compareSemver(a, b string) int {
	sa, errA := parseSemver(a)
	sb, errB := parseSemver(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	if c := cmpNum(sa.major, sb.major); c != 0 {
		return c
	}
	if c := cmpNum(sa.minor, sb.minor); c != 0 {
		return c
	}
	if c := cmpNum(sa.patch, sb.patch); c != 0 {
		return c
	}
	switch {
	case len(sa.pre) == 0 && len(sb.pre) == 0:
		return 0
	case len(sa.pre) == 0:
		return 1
	case len(sb.pre) == 0:
		return -1
	}
	for i := 0; i < len(sa.pre) && i < len(sb.pre); i++ {
		x, y := sa.pre[i], sb.pre[i]
		nx, ny := isNum(x), isNum(y)
		var c int
		switch {
		case nx && ny:
			c = cmpNum(x, y)
		case nx:
			c = -1
		case ny:
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return len(sa.pre) - len(sb.pre)
}

// Limits of the go command (golang.org/x/mod/zip).
const (
	maxZipFile = 500 << 20 // any one file, and all files together, uncompressed
	maxGoMod   = 16 << 20  // go.mod
	maxLicense = 16 << 20  // LICENSE
)

// zipFile is one file going into the zip.
type zipFile struct {
	rel  string // slash-separated path relative to the module root
	path string // path on disk
	size int64
}

// listFiles returns the files of the module rooted at dir, sorted by
// relative path, applying the go command's rules (see the package doc).
func listFiles(dir string) ([]zipFile, error) {
	root, err := filepath.EvalSymlinks(dir) // dir itself may be a link
	if err != nil {
		return nil, err
	}
	var files []zipFile
	var total int64
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".hg", ".svn", ".bzr", "vendor":
				return filepath.SkipDir
			}
			if fi, err := os.Lstat(filepath.Join(p, "go.mod")); err == nil && !fi.IsDir() {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: symbolic links are not allowed in a module zip", p)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%v)", p, d.Type())
		}
		if err := checkFilePath(rel); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size := fi.Size()
		limit := int64(maxZipFile)
		switch rel {
		case "go.mod":
			limit = maxGoMod
		case "LICENSE":
			limit = maxLicense
		}
		if size > limit {
			return fmt.Errorf("%s: %d bytes, over the go command's %d-byte limit", p, size, limit)
		}
		if total += size; total > maxZipFile {
			return fmt.Errorf("%s: the module's files total over %d bytes uncompressed, the go command's limit", dir, int64(maxZipFile))
		}
		files = append(files, zipFile{rel: rel, path: p, size: size})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b zipFile) int { return strings.Compare(a.rel, b.rel) })
	if err := checkCollisions(files); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(files, func(f zipFile) bool { return f.rel == "go.mod" }) {
		return nil, fmt.Errorf("%s: no go.mod file at the module root", dir)
	}
	return files, nil
}

// badWindowsNames are path elements (before any '.') that Windows
// reserves; the go command rejects them in module zips.
var badWindowsNames = []string{
	"CON", "PRN", "AUX", "NUL",
	"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
	"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
}

// checkFilePath applies the go command's rules for file paths in a module
// zip (golang.org/x/mod/module.CheckFilePath): valid UTF-8; each element
// not empty, not all dots, not ending in '.', made of letters, digits,
// spaces and !#$%&()+,-.=@[]^_{}~ only, and not a Windows-reserved name.
func checkFilePath(rel string) error {
	if !utf8.ValidString(rel) {
		return fmt.Errorf("file path %q is not valid UTF-8", rel)
	}
	for _, elem := range strings.Split(rel, "/") {
		if elem == "" || strings.Trim(elem, ".") == "" {
			return fmt.Errorf("file path %q: invalid element %q", rel, elem)
		}
		if strings.HasSuffix(elem, ".") {
			return fmt.Errorf("file path %q: element %q ends with '.'", rel, elem)
		}
		for _, r := range elem {
			ok := unicode.IsLetter(r)
			if r < utf8.RuneSelf {
				ok = '0' <= r && r <= '9' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' ||
					strings.ContainsRune("!#$%&()+,-.=@[]^_{}~ ", r)
			}
			if !ok {
				return fmt.Errorf("file path %q: character %q is not allowed in a module zip", rel, r)
			}
		}
		short, _, _ := strings.Cut(elem, ".")
		for _, bad := range badWindowsNames {
			if strings.EqualFold(bad, short) {
				return fmt.Errorf("file path %q: %q is a reserved name on Windows", rel, elem)
			}
		}
	}
	return nil
}

// checkCollisions fails on two paths (files, or the directories holding
// them) that are equal when lowercased, or on a file that is also a
// directory when lowercased: they would collide on a case-insensitive
// file system.
func checkCollisions(files []zipFile) error {
	type entry struct {
		path  string
		isDir bool
	}
	seen := map[string]entry{}
	add := func(p string, isDir bool) error {
		key := strings.ToLower(p)
		if prev, ok := seen[key]; ok {
			if prev.path != p || prev.isDir != isDir {
				return fmt.Errorf("case-insensitive file name collision: %q and %q", prev.path, p)
			}
			return nil
		}
		seen[key] = entry{p, isDir}
		return nil
	}
	for _, f := range files {
		for i := 0; i < len(f.rel); i++ {
			if f.rel[i] == '/' {
				if err := add(f.rel[:i], true); err != nil {
					return err
				}
			}
		}
		if err := add(f.rel, false); err != nil {
			return err
		}
	}
	return nil
}

// writeZip writes the module zip through a temporary file and renames it
// into place only when complete and no larger than maxZip, so a failure
// leaves no partial or oversized zip behind.
func writeZip(path, prefix string, files []zipFile, t time.Time, maxZip int64) (err error) {
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
	zw := zip.NewWriter(f)
	for _, file := range files {
		if err = addFile(zw, prefix+file.rel, file, t); err != nil {
			return err
		}
	}
	if err = zw.Close(); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > maxZip {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit", path, fi.Size(), maxZip)
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// addFile copies one file into the zip, failing if its size changed since
// it was listed.
func addFile(zw *zip.Writer, name string, file zipFile, t time.Time) error {
	src, err := os.Open(file.path)
	if err != nil {
		return err
	}
	defer src.Close()
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: t})
	if err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(src, file.size+1))
	if err != nil {
		return fmt.Errorf("%s: %w", file.path, err)
	}
	if n != file.size {
		return fmt.Errorf("%s: changed size while being zipped", file.path)
	}
	return nil
}

// addToList adds version to the @v/list file, keeping it sorted by semver
// precedence and without duplicates, so several versions can share one
// proxy directory.
func addToList(path, version string) error {
	var versions []string
	if data, err := os.ReadFile(path); err == nil {
		versions = strings.Fields(string(data))
	} else if !os.IsNotExist(err) {
		return err
	}
	versions = append(versions, version)
	slices.SortFunc(versions, func(a, b string) int {
		if c := compareSemver(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	versions = slices.Compact(versions)
	return os.WriteFile(path, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}
