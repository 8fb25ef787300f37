package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
)

// pki writes a CA and certificates it signs into dir.
type pki struct {
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exercise CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	p := &pki{dir: t.TempDir(), caCert: cert, caKey: key}
	p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// issue makes a certificate for name (a server for 127.0.0.1, or a
// client) and returns the certificate and key files.
func (p *pki) issue(t *testing.T, name string, server bool) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	must(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
}

func (p *pki) client(t *testing.T, certFile, keyFile string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		must(t, err)
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// TestMutualTLS: an agency node requires client certificates as well as
// API keys; an exchange with a certificate pulls its collection and flags
// the published wallet, a client without one is refused at the handshake.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	us, jp := newNode(t, "us"), newNode(t, "jp")
	us.url = strings.Replace(us.url, "http://", "https://", 1)
	srvCert, srvKey := p.issue(t, "us-server", true)
	us.tls = serveOptions{tlsCert: srvCert, tlsKey: srvKey, clientCA: filepath.Join(p.dir, "ca.pem")}
	jpCert, jpKey := p.issue(t, "jp-client", false)
	pubCert, pubKey := p.issue(t, "us-publisher", false)

	jpSecret := us.key(t, "jp-exchange", "taxii:read")
	analyst := us.key(t, "us-analyst", "taxii:write")
	us.cli(t, "intel", "collection", "add", "feed", "--read", "jp-exchange", "--write", "us-analyst")
	jp.key(t, "screen", "screen")
	jp.cli(t, "intel", "peer", "add", "us", us.url, "--collection", "feed", "--key", jpSecret, "--ca", filepath.Join(p.dir, "ca.pem"), "--cert", jpCert, "--cert-key", jpKey)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-us.done; <-jp.done }()
	us.start(ctx, t)
	jp.start(ctx, t)

	if _, err := p.client(t, "", "").Get(us.url + "/healthz"); err == nil {
		t.Error("a client without a certificate was served")
	}
	objs, err := intel.Publish(intel.Publication{Creator: intel.NewIdentity("US agency", "organization"), Name: "mTLS test", TLP: intel.TLPAmber,
		Addresses: []intel.Listed{{Chain: "eth", Address: "0x47666fab8bd0ac7003bce3f5c3585383f09486e2", Role: intel.RoleThief}}})
	must(t, err)
	var raws []json.RawMessage
	for _, o := range objs {
		raws = append(raws, mustJSON(t, o))
	}
	c := taxii.NewClient(us.url, taxii.DefaultAPIRoot, analyst, p.client(t, pubCert, pubKey))
	if _, err := c.Add(ctx, "feed", raws); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "jp flags the wallet over mutual TLS", 2*time.Second, func() bool {
		f, _ := jp.flagged(t, "0x47666fab8bd0ac7003bce3f5c3585383f09486e2")
		return f
	})
}
