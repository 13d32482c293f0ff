"""Schemathesis hooks for contract check (a) (loaded through SCHEMATHESIS_HOOKS=hooks).

- The connection: an operation that takes `openretailing-connection-id` gets the live
  connection of the run (EPS_CONTRACT_CONNECTION) in it, so generated cases reach the operation
  instead of stopping at 404 `ERRCD_UNKNOWN_CONNECTION`; the missing-header check still removes
  it (it is part of the case, not a header of every request).
- The idempotency key: a request may carry it as the `Idempotency-Key` header or as the body's
  `posTransactionID`, and when it carries both they must be equal (else 400), a rule across a
  header and the body that JSON Schema cannot say. A case with both gets the body's value in the
  header (or no header, when that value cannot be a header); the e2e tests check the refusal.
"""

import os

import schemathesis

CONNECTION_HEADER = "openretailing-connection-id"


@schemathesis.hook
def map_case(context, case):
    headers = dict(case.headers or {})
    connection = os.environ.get("EPS_CONTRACT_CONNECTION")
    if connection and CONNECTION_HEADER in headers:
        headers[CONNECTION_HEADER] = connection
    body = case.body if isinstance(case.body, dict) else {}
    key = body.get("posTransactionID")
    if isinstance(key, str) and "Idempotency-Key" in headers:
        if key.isascii() and key.isprintable():
            headers["Idempotency-Key"] = key
        else:
            del headers["Idempotency-Key"]
    case.headers = headers
    return case


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but one kind: a schema-valid amount refused with
    `ERRCD_INVALID_AMOUNT`. Whether an amount is valid depends on its currency (its number of
    minor-unit digits, whether the ISO 4217 code is active, the largest amount), which the
    schema of `AmountBody` documents in words, not as a rule a generator could follow."""
    if getattr(failure, "code", None) != "ST202" or response is None:
        return True
    try:
        error = response.json()["statusReturn"]["error"]
    except (ValueError, KeyError, TypeError):
        return True
    return error != "ERRCD_INVALID_AMOUNT"
