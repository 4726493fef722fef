module github.com/blockmem/blockmem/bindings/go

go 1.24
