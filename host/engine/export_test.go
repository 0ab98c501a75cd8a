package engine

// MappedMemories is how many guest memories are mapped now; -1 where guest
// memory is wazero's own (linmem.go).
func MappedMemories() int64 {
	if !mmapMemory {
		return -1
	}
	return mappedMemories.Load()
}
