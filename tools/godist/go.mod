module github.com/blockmem/blockmem/tools/godist

go 1.24

require golang.org/x/mod v0.25.0
