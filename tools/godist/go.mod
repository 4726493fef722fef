module github.com/blockmem/blockmem/tools/godist

go 1.24
