package engine

import "github.com/gatehouse/gatehouse/abi/hostcall"

// ClientCert describes the certificate the client presented (the ABI's
// client certificate fields, abi/clientcert.go; answered by
// abi/hostcall). The gateway fills Exchange.ClientCert only for calls that
// carried one.
type ClientCert = hostcall.ClientCert
