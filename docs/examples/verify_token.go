// Verify auth-service's access token in Go, as shared-jwt does in Rust: algorithm pinned,
// key from the JWKS by kid (github.com/MicahParks/keyfunc/v3 caches it and refetches on an
// unknown kid), exp with 60 s leeway, iss, aud, and token_type == "access"
// (github.com/golang-jwt/jwt/v5).
//
//	go mod init verify && go get github.com/golang-jwt/jwt/v5 github.com/MicahParks/keyfunc/v3
//	go run verify_token.go JWKS_URL ISSUER AUDIENCE TOKEN
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: verify_token JWKS_URL ISSUER AUDIENCE TOKEN")
		os.Exit(2)
	}
	jwksURL, issuer, audience, token := os.Args[1], os.Args[2], os.Args[3], os.Args[4]

	// One per process: it caches the JWKS and refreshes it in the background.
	jwks, err := keyfunc.NewDefault([]string{jwksURL})
	if err != nil {
		fmt.Println("refused: cannot fetch the JWKS:", err)
		os.Exit(1)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, jwks.Keyfunc,
		jwt.WithValidMethods([]string{"EdDSA"}), // pinned, never from the token
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(60*time.Second),
	)
	if err == nil && claims["token_type"] != "access" {
		err = fmt.Errorf("not an access token")
	}
	if err != nil {
		fmt.Println("refused:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(claims)
	fmt.Println(string(out))
}
