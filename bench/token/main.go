// Command token makes the keys and tokens of the JWT benchmark scenarios:
// an RSA key pair (the public half written where configs/bench.yaml reads
// it) and an HMAC secret, then prints one long-lived token per algorithm.
// Benchmark use only: the keys are fresh on every run and never leave the
// machine.
//
//	token -dir bench/.keys      # prints SECRET=..., HS256=..., RS256=...
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	dir := flag.String("dir", "bench/.keys", "where to write rs256.pub.pem")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	if err := os.WriteFile(filepath.Join(dir, "rs256.pub.pem"), pemBytes, 0o644); err != nil {
		return err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	secret := hex.EncodeToString(raw) // 64 bytes of secret text, over HS256's 32-byte floor

	claims := jwt.MapClaims{"sub": "bench-user", "role": "user", "exp": time.Now().Add(24 * time.Hour).Unix()}
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return err
	}
	rs, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		return err
	}
	fmt.Printf("SECRET=%s\nHS256=%s\nRS256=%s\n", secret, hs, rs)
	return nil
}
