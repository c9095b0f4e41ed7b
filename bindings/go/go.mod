module procward

go 1.19
