//go:build wasip1

package imports

//go:wasmimport gatehouse_v1 body_convert
func bodyConvert(ctx uint32, kind, conversion, flags, max int32, buf *byte, bufCap uint32) int32

// BodyConvert is body_convert (ABI v1.2, abi/body.go).
func BodyConvert(ctx uint32, kind, conversion, flags, max int32, buf []byte) int32 {
	bp, bn := p(buf)
	return bodyConvert(ctx, kind, conversion, flags, max, bp, bn)
}
