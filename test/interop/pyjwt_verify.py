"""Verifies access tokens as a Python resource server would, with PyJWT's
PyJWKClient over the JWKS endpoint, enforcing every claim RFC 9068 §2.2
requires and the `at+jwt` type of §2.1.

Input (stdin, JSON): { "jwks": url, "issuer": str, "audience": str,
"algorithm": str, "tokens": [str] }. Output (stdout, JSON): one entry per
token, { "ok": true, "claims": {...} } or { "ok": false, "error": str }.
"""
import json
import sys

import jwt

REQUIRED = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]


def main():
    job = json.load(sys.stdin)
    client = jwt.PyJWKClient(job["jwks"])
    out = []
    for token in job["tokens"]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != "at+jwt":
                raise ValueError("typ is not at+jwt")
            key = client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[job["algorithm"]],
                audience=job["audience"],
                issuer=job["issuer"],
                options={"require": REQUIRED},
            )
            out.append({"ok": True, "claims": claims, "kid": key.key_id})
        except Exception as err:  # noqa: BLE001 - every failure is reported to the test
            out.append({"ok": False, "error": f"{type(err).__name__}: {err}"})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
