#!/usr/bin/env python3
"""Verify auth-service's access token in Python, as shared-jwt does in Rust.

PyJWT (Debian: python3-jwt, python3-cryptography; or `pip install "pyjwt[crypto]"`) with
its JWKS client. The checks are the contract's: the algorithm pinned by the verifier
(never taken from the token), the signature with the key the JWKS names by `kid`, `exp`
with at most 60 s of leeway, `iss`, `aud`, and `token_type == "access"`.

Usage: verify_token.py JWKS_URL ISSUER AUDIENCE TOKEN [ALGORITHM]
Prints the claims as JSON and exits 0; prints the reason and exits 1 when the token is refused.
The test suite runs this file against a running auth-service (auth-service/tests/api/interop_python.rs).
"""

import json
import sys

import jwt
from jwt import PyJWKClient

# The claims every access token carries (CONTRACT.md "Access token").
REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "jti", "sub", "user_id", "token_type",
            "tenant_id", "tenant_slug", "user_role", "email", "name"]
ROLES = {"owner", "admin", "member", "viewer"}


def verify(token, jwks_url, issuer, audience, algorithm="EdDSA"):
    # One client per process in a real service: it caches the keys (lifespan in seconds)
    # and fetches the JWKS again when a token names a kid it has not seen.
    jwks = PyJWKClient(jwks_url, cache_keys=True, lifespan=300)
    key = jwks.get_signing_key_from_jwt(token).key
    claims = jwt.decode(
        token,
        key,
        algorithms=[algorithm],  # pinned: an "alg" of the attacker's choice is refused
        issuer=issuer,
        audience=audience,
        leeway=60,
        options={"require": REQUIRED},
    )
    if claims["token_type"] != "access":
        raise jwt.InvalidTokenError("not an access token")
    if claims["sub"] != claims["user_id"] or claims["user_role"] not in ROLES:
        raise jwt.InvalidTokenError("malformed claims")
    return claims


def main(argv):
    if len(argv) not in (5, 6):
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    jwks_url, issuer, audience, token = argv[1:5]
    algorithm = argv[5] if len(argv) == 6 else "EdDSA"
    try:
        claims = verify(token, jwks_url, issuer, audience, algorithm)
    except jwt.PyJWTError as e:
        print(f"refused: {type(e).__name__}: {e}")
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
