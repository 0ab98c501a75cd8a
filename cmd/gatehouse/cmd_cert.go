package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/catalog"
)

// certCommand manages the edge's TLS certificates in the catalog
// (docs/tls.md "Certificates in the catalog"). Keys are read from files
// and sent once; no command shows them.
func certCommand() *cli.Command {
	pairFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "cert", Usage: "PEM certificate chain file: the server certificate first, then each issuer"},
			&cli.StringFlag{Name: "key", Usage: "PEM private key file (unencrypted; sealed at rest by the gateway)"},
		}
	}
	return &cli.Command{
		Name:  "cert",
		Usage: "manage the TLS certificates the gateway serves by SNI (keys go in, never come out)",
		Subcommands: []*cli.Command{
			leaf("list", "list certificates with their hostnames and expiry", "", nil, func(e *cmdEnv) error {
				return listCmd(e, "/certificates", tableCols("ID", "id", "HOSTNAMES", "hostnames", "NOT AFTER", "notAfter", "DAYS LEFT", "daysLeft", "FINGERPRINT", "fingerprint"))
			}),
			leaf("show", "show one certificate's details", "ID", nil, func(e *cmdEnv) error {
				return getCmd(e, "/certificates/", "certificate")
			}),
			leaf("add", "upload a certificate and its key", "", append(pairFlags(),
				&cli.StringFlag{Name: "id", Usage: "the certificate's ID (default: generated)"}), func(e *cmdEnv) error {
				if err := e.want(0, 0); err != nil {
					return err
				}
				body, err := certBody(e.c.String("cert"), e.c.String("key"))
				if err != nil {
					return err
				}
				body.ID = e.c.String("id")
				return certCall(e, "POST", "/certificates", body)
			}),
			leaf("replace", "replace a certificate's chain and key (renewal), keeping its ID", "ID", pairFlags(), func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				body, err := certBody(e.c.String("cert"), e.c.String("key"))
				if err != nil {
					return err
				}
				return certCall(e, "PUT", "/certificates/"+pathSeg(e.args[0]), body)
			}),
			leaf("rm", "delete a certificate and its key", "ID", nil, func(e *cmdEnv) error {
				return deleteCmd(e, "/certificates/", "certificate")
			}),
		},
	}
}

func certBody(certFile, keyFile string) (catalog.CertificateUpload, error) {
	if certFile == "" || keyFile == "" {
		return catalog.CertificateUpload{}, usageError{fmt.Errorf("cert: --cert and --key are both required")}
	}
	read := func(flag, path string) (string, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flag, err)
		}
		if fi.Size() > catalog.MaxCertificateBody {
			return "", fmt.Errorf("--%s: %s is larger than %d KiB: not a PEM certificate or key", flag, path, catalog.MaxCertificateBody>>10)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flag, err)
		}
		return string(b), nil
	}
	cb, err := read("cert", certFile)
	if err != nil {
		return catalog.CertificateUpload{}, err
	}
	kb, err := read("key", keyFile)
	if err != nil {
		return catalog.CertificateUpload{}, err
	}
	return catalog.CertificateUpload{Certificate: cb, Key: kb}, nil
}

func certCall(e *cmdEnv, method, path string, body catalog.CertificateUpload) error {
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call(method, path, nil, body)
	if err != nil {
		return err
	}
	return e.object(raw, "certificate")
}
