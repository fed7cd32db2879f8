// Verify auth-service's access token in Node.js with `jose` (npm install jose), as
// shared-jwt does in Rust: algorithm pinned, key from the JWKS by kid (cached, refetched
// on an unknown kid), exp with 60 s leeway, iss, aud, and token_type === "access".
//
// Usage: node verify_token.mjs JWKS_URL ISSUER AUDIENCE TOKEN
import { createRemoteJWKSet, jwtVerify } from "jose";

const [jwksUrl, issuer, audience, token] = process.argv.slice(2);

// One per process: it caches the JWKS and refetches (rate limited) on an unknown kid.
const jwks = createRemoteJWKSet(new URL(jwksUrl));

export async function verify(token) {
  const { payload } = await jwtVerify(token, jwks, {
    algorithms: ["EdDSA"], // pinned; ES256 or HS512 if auth-service is configured so
    issuer,
    audience,
    clockTolerance: 60,
    requiredClaims: ["exp", "iss", "aud", "sub", "user_id", "tenant_id", "user_role"],
  });
  if (payload.token_type !== "access") throw new Error("not an access token");
  return payload;
}

try {
  console.log(JSON.stringify(await verify(token)));
} catch (e) {
  console.log(`refused: ${e.code ?? e.name}: ${e.message}`);
  process.exit(1);
}
