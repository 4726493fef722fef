package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTree creates the files (slash-separated path -> contents) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rels(files []zipFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.rel)
	}
	return out
}

func TestEscapeCase(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/tiny":            "example.com/tiny",
		"github.com/BurntSushi/toml":  "github.com/!burnt!sushi/toml",
		"github.com/Azure/azure-sdk":  "github.com/!azure/azure-sdk",
		"v1.0.0-RC1":                  "v1.0.0-!r!c1",
		"example.com/ABC~x_y-z.v2/v3": "example.com/!a!b!c~x_y-z.v2/v3",
	} {
		if got := escapeCase(in); got != want {
			t.Errorf("escapeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckModulePath(t *testing.T) {
	for _, ok := range []string{
		"example.com/tiny", "github.com/BurntSushi/toml", "example.com/a_b~c-d/v2", "x",
	} {
		if err := checkModulePath(ok); err != nil {
			t.Errorf("checkModulePath(%q): %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                   "empty",
		"example.com//x":     "empty path element",
		"/example.com":       "empty path element",
		"example.com/":       "empty path element",
		"example.com/x y":    "invalid character ' '",
		"example.com/x!":     "invalid character '!'",
		"example.com/é":      "invalid character 'é'",
		"example.com/x+y":    "invalid character '+'",
		".example.com/x":     `".example.com" starts with '.'`,
		"example.com/x.":     `"x." ends with '.'`,
		"example.com/../x":   `".." starts with '.'`,
		"example.com\\x/y":   "invalid character '\\\\'",
		"example.com/x:y/v2": "invalid character ':'",
	} {
		err := checkModulePath(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkModulePath(%q) = %v, want an error with %q", bad, err, want)
		}
	}
}

func TestParseSemver(t *testing.T) {
	for _, ok := range []string{
		"v0.0.0", "v0.1.0", "v1.2.3", "v10.20.30", "v1.0.0-rc.1", "v1.0.0-RC1",
		"v1.0.0-0.3.7", "v1.0.0-x-y.z--", "v0.0.0-20240101000000-abcdef123456",
	} {
		if _, err := parseSemver(ok); err != nil {
			t.Errorf("parseSemver(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", "v", "v1", "v1.0", "1.0.0", "v1.0.0+meta", "v1.0.0-rc+meta", "v01.0.0",
		"v1.00.0", "v1.0.01", "v1.0.0-", "v1.0.0-rc..1", "v1.0.0-01", "v1.0.0-rc_1",
		"v1.0.0.0", "V1.0.0", "v1.0.x", "v-1.0.0", " v1.0.0",
	} {
		_, err := parseSemver(bad)
		if err == nil || !strings.Contains(err.Error(), "not canonical semver") {
			t.Errorf("parseSemver(%q) = %v, want a not-canonical error", bad, err)
		}
	}
}

func TestCompareSemver(t *testing.T) {
	// In ascending order (the semver.org example, then more).
	ordered := []string{
		"v0.0.1",
		"v0.9.0",
		"v0.10.0-alpha",
		"v0.10.0",
		"v0.10.1",
		"v1.0.0-0.3.7",
		"v1.0.0-alpha",
		"v1.0.0-alpha.1",
		"v1.0.0-alpha.beta",
		"v1.0.0-beta",
		"v1.0.0-beta.2",
		"v1.0.0-beta.11",
		"v1.0.0-rc.1",
		"v1.0.0",
		"v1.9.0",
		"v1.10.0",
		"v2.0.0",
		"v10.0.0",
		"v99999999999999999999.0.0",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			got := compareSemver(a, b)
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compareSemver(%q, %q) = %d, want the sign of %d", a, b, got, i-j)
			}
		}
	}
	if compareSemver("junk", "v0.0.0") >= 0 || compareSemver("v0.0.0", "junk") <= 0 {
		t.Error("invalid versions should sort before valid ones")
	}
}

func TestCheckPathMajor(t *testing.T) {
	ok := [][2]string{
		{"example.com/tiny", "v0.1.0"},
		{"example.com/tiny", "v1.2.3"},
		{"example.com/tiny/v2", "v2.0.0"},
		{"example.com/tiny/v12", "v12.1.0-rc.1"},
		{"example.com/v2tiny", "v1.0.0"},
	}
	for _, c := range ok {
		sv, err := parseSemver(c[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPathMajor(c[0], c[1], sv.major); err != nil {
			t.Errorf("checkPathMajor(%q, %q): %v", c[0], c[1], err)
		}
	}
	bad := [][3]string{
		{"example.com/tiny", "v2.0.0", "to end in /v2"},
		{"example.com/tiny/v2", "v1.0.0", "want major version v2"},
		{"example.com/tiny/v2", "v3.0.0", "want major version v2"},
		{"example.com/tiny/v1", "v1.0.0", "invalid major version suffix"},
		{"example.com/tiny/v0", "v0.1.0", "invalid major version suffix"},
		{"example.com/tiny/v02", "v2.0.0", "invalid major version suffix"},
	}
	for _, c := range bad {
		sv, err := parseSemver(c[1])
		if err != nil {
			t.Fatal(err)
		}
		err = checkPathMajor(c[0], c[1], sv.major)
		if err == nil || !strings.Contains(err.Error(), c[2]) {
			t.Errorf("checkPathMajor(%q, %q) = %v, want an error with %q", c[0], c[1], err, c[2])
		}
	}
}

func TestAddToList(t *testing.T) {
	list := filepath.Join(t.TempDir(), "list")
	for _, v := range []string{"v0.9.0", "v0.10.0", "v0.10.0-rc.1", "v0.2.0", "v0.10.0", "v1.0.0", "v0.9.0"} {
		if err := addToList(list, v); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	want := "v0.2.0\nv0.9.0\nv0.10.0-rc.1\nv0.10.0\nv1.0.0\n"
	if string(data) != want {
		t.Errorf("list = %q, want %q", data, want)
	}
}

func TestListFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":                 "module example.com/m\n",
		"a.go":                   "package m\n",
		"LICENSE":                "license\n",
		"sub/b.go":               "package sub\n",
		"sub/.hidden":            "x",
		"nested/go.mod":          "module example.com/m/nested\n",
		"nested/c.go":            "package nested\n",
		"sub/deeper/go.mod":      "module example.com/m/sub/deeper\n",
		"sub/deeper/d.go":        "package deeper\n",
		"vendor/modules.txt":     "# x\n",
		"vendor/x.com/y/y.go":    "package y\n",
		"sub/vendor/z.go":        "package z\n",
		".git/config":            "[core]\n",
		".hg/x":                  "x",
		"sub/.svn/x":             "x",
		".bzr/x":                 "x",
		"a-b/e.go":               "package e\n",
		"store/lib/x/libfoo.a":   "!<arch>\n",
		"with space/f(1) [2].go": "package f\n",
	})
	files, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"LICENSE", "a-b/e.go", "a.go", "go.mod", "store/lib/x/libfoo.a",
		"sub/.hidden", "sub/b.go", "with space/f(1) [2].go",
	}
	if got := rels(files); !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

// symlink is a setup step that links name to target in the module
// directory, skipping the test where symbolic links cannot be made.
func symlink(target, name string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skip("no symlinks:", err)
		}
	}
}

func TestListFilesErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{
			name:  "no go.mod",
			files: map[string]string{"a.go": "package a\n"},
			want:  "no go.mod file at the module root",
		},
		{
			name:  "case collision",
			files: map[string]string{"go.mod": "module m\n", "README": "a", "readme": "b"},
			want:  `case-insensitive file name collision: "README" and "readme"`,
		},
		{
			name:  "directory case collision",
			files: map[string]string{"go.mod": "module m\n", "Pkg/a.go": "a", "pkg/b.go": "b"},
			want:  `case-insensitive file name collision: "Pkg" and "pkg"`,
		},
		{
			name:  "file and directory collision",
			files: map[string]string{"go.mod": "module m\n", "Pkg": "a", "pkg/b.go": "b"},
			want:  "case-insensitive file name collision",
		},
		{
			name:  "symlink",
			files: map[string]string{"go.mod": "module m\n", "a.go": "package a\n"},
			setup: symlink("a.go", "link.go"),
			want:  "link.go: symbolic links are not allowed",
		},
		{
			name:  "symlink to a directory",
			files: map[string]string{"go.mod": "module m\n", "real/a.go": "package a\n"},
			setup: symlink("real", "linkdir"),
			want:  "linkdir: symbolic links are not allowed",
		},
		{
			name:  "bad file name",
			files: map[string]string{"go.mod": "module m\n", "a?.go": "package a\n"},
			want:  `character '?' is not allowed`,
		},
		{
			name:  "windows name",
			files: map[string]string{"go.mod": "module m\n", "aux.go": "package a\n"},
			want:  "reserved name on Windows",
		},
		{
			name:  "trailing dot",
			files: map[string]string{"go.mod": "module m\n", "x./a.go": "package a\n"},
			want:  `element "x." ends with '.'`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			if c.setup != nil {
				c.setup(t, dir)
			}
			_, err := listFiles(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("listFiles = %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestRunZip(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":        "module example.com/Tiny\n\ngo 1.24\n",
		"tiny.go":       "package tiny\n",
		"nested/go.mod": "module example.com/Tiny/nested\n",
		"nested/n.go":   "package nested\n",
	})
	stamp := "2024-05-06T07:08:09+02:00"
	want := time.Date(2024, 5, 6, 5, 8, 9, 0, time.UTC)
	var zips [][]byte
	for range 2 {
		out := t.TempDir()
		if err := run("example.com/Tiny", "v0.1.0-RC1", dir, out, stamp, 1<<20); err != nil {
			t.Fatal(err)
		}
		vdir := filepath.Join(out, "example.com", "!tiny", "@v")
		entries, err := os.ReadDir(vdir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		wantNames := []string{"list", "v0.1.0-!r!c1.info", "v0.1.0-!r!c1.mod", "v0.1.0-!r!c1.zip"}
		if !slices.Equal(names, wantNames) {
			t.Fatalf("files = %q, want %q (no temporary zip left)", names, wantNames)
		}
		info, err := os.ReadFile(filepath.Join(vdir, "v0.1.0-!r!c1.info"))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Version string
			Time    time.Time
		}
		if err := json.Unmarshal(info, &v); err != nil || v.Version != "v0.1.0-RC1" || !v.Time.Equal(want) {
			t.Errorf(".info = %s (%v)", info, err)
		}
		if list, _ := os.ReadFile(filepath.Join(vdir, "list")); string(list) != "v0.1.0-RC1\n" {
			t.Errorf("list = %q", list)
		}
		if mod, _ := os.ReadFile(filepath.Join(vdir, "v0.1.0-!r!c1.mod")); !strings.HasPrefix(string(mod), "module example.com/Tiny\n") {
			t.Errorf(".mod = %q", mod)
		}
		data, err := os.ReadFile(filepath.Join(vdir, "v0.1.0-!r!c1.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range zr.File {
			got = append(got, f.Name)
			if f.Method != zip.Deflate || !f.Modified.Equal(want) {
				t.Errorf("%s: method %d, modified %v", f.Name, f.Method, f.Modified)
			}
		}
		wantZip := []string{"example.com/Tiny@v0.1.0-RC1/go.mod", "example.com/Tiny@v0.1.0-RC1/tiny.go"}
		if !slices.Equal(got, wantZip) {
			t.Errorf("zip = %q, want %q", got, wantZip)
		}
		zips = append(zips, data)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Error("two runs with the same -time wrote different zips")
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"go.mod": "module example.com/tiny\n", "a.go": strings.Repeat("x", 4096)})
	for _, c := range []struct {
		path, version, stamp string
		maxZip               int64
		want                 string
	}{
		{"example.com/tiny", "v1", "", 1 << 20, "not canonical semver"},
		{"example.com/tiny", "v2.0.0", "", 1 << 20, "to end in /v2"},
		{"example.com/ti ny", "v0.1.0", "", 1 << 20, "invalid character"},
		{"example.com/tiny", "v0.1.0", "yesterday", 1 << 20, "-time"},
		{"example.com/tiny", "v0.1.0", "", 100, "over the 100-byte limit"},
	} {
		out := t.TempDir()
		err := run(c.path, c.version, dir, out, c.stamp, c.maxZip)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q, %q, -time %q, -max-zip %d) = %v, want an error with %q", c.path, c.version, c.stamp, c.maxZip, err, c.want)
			continue
		}
		// Nothing but (at most) the empty @v directory is left behind.
		var left []string
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				left = append(left, p)
			}
			return nil
		})
		if len(left) > 0 {
			t.Errorf("run(%q, %q) left %q behind", c.path, c.version, left)
		}
	}
}

// TestGoGet serves a tiny module from a proxy directory written by run and
// builds a program that imports it, with the real go command.
func TestGoGet(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	if testing.Short() {
		t.Skip("runs the go command")
	}
	tiny := t.TempDir()
	writeTree(t, tiny, map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.24\n",
		"tiny.go": "// Package tiny says hello.\npackage tiny\n\n// Hello says hello.\nfunc Hello() string { return \"hello from tiny\" }\n",
		"LICENSE": "Public domain.\n",
	})
	proxy := t.TempDir()
	if err := run("example.com/tiny", "v0.1.0", tiny, proxy, "2024-01-02T03:04:05Z", 1<<20); err != nil {
		t.Fatal(err)
	}

	app := t.TempDir()
	modcache := t.TempDir() // -modcacherw below keeps it removable
	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy),
		"GOSUMDB=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOMODCACHE="+modcache,
		"GOTOOLCHAIN=local",
		"GOWORK=off",
		"GONOSUMDB=",
		"GOPRIVATE=",
		"GONOPROXY=",
		"GOINSECURE=",
	)
	goRun := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = app
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goRun("mod", "init", "example.com/app")
	writeTree(t, app, map[string]string{
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/tiny\"\n)\n\nfunc main() { fmt.Println(tiny.Hello()) }\n",
	})
	goRun("mod", "tidy")
	gomod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "example.com/tiny v0.1.0") {
		t.Errorf("go.mod after tidy:\n%s", gomod)
	}
	exe := filepath.Join(app, "app.exe")
	goRun("build", "-o", exe, ".")
	out, err := exec.Command(exe).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from tiny" {
		t.Errorf("app: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(modcache, "example.com", "tiny@v0.1.0", "LICENSE")); err != nil {
		t.Errorf("LICENSE not in the module cache: %v", err)
	}
}
