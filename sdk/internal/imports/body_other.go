//go:build !wasip1

package imports

// BodyConvert is body_convert (ABI v1.2, abi/body.go).
func BodyConvert(ctx uint32, kind, conversion, flags, max int32, buf []byte) int32 {
	return host().BodyConvert(ctx, kind, conversion, flags, max, buf)
}
