"""Contract check (b): a client generated from spec/openapi.json by openapi-python-client runs
token -> connect -> POIs -> payment -> receipts -> disconnect against a live `eps demo`.

The generated package is `eps_client` (scripts/contract puts it on PYTHONPATH). Every answer
must parse into the model the document promises; anything else fails the check.
"""

import base64
import sys
import uuid

import session
from eps_client import AuthenticatedClient
from eps_client.api.connection import connect, disconnect
from eps_client.api.oauth import token
from eps_client.api.payments import create_payment, list_transaction_receipts
from eps_client.api.poi import list_po_is
from eps_client.models.connect_body import ConnectBody
from eps_client.models.connect_response import ConnectResponse
from eps_client.models.payment_request import PaymentRequest
from eps_client.models.pois_response import PoisResponse
from eps_client.models.receipt_list_response import ReceiptListResponse
from eps_client.models.status_response import StatusResponse
from eps_client.models.status_return import StatusReturn
from eps_client.models.token_request import TokenRequest
from eps_client.models.token_response import TokenResponse
from eps_client.models.transaction_response import TransactionResponse


def expect(step, response, model, status=200):
    """The parsed answer of `step`, which must be `status` with a `model` body."""
    if response.status_code != status or not isinstance(response.parsed, model):
        sys.exit(
            f"contract (b) {step}: expected {status} {model.__name__}, got "
            f"{response.status_code} {type(response.parsed).__name__}: {response.content[:500]!r}"
        )
    print(f"contract (b) {step}: {response.status_code} {model.__name__}")
    return response.parsed


def main():
    basic = base64.b64encode(f"{session.CLIENT}:{session.SECRET}".encode()).decode()
    issuer = AuthenticatedClient(base_url=session.BASE, token=basic, prefix="Basic",
                                 timeout=session.TIMEOUT)
    granted = expect("token", token.sync_detailed(
        client=issuer,
        body=TokenRequest(grant_type="client_credentials", scope="read write"),
    ), TokenResponse)

    api = AuthenticatedClient(base_url=session.BASE, token=granted.access_token,
                              timeout=session.TIMEOUT)
    connected = expect("connect", connect.sync_detailed(
        client=api, body=ConnectBody.from_dict(session.CONNECT_BODY),
    ), ConnectResponse)
    connection = connected.connection_id

    pois = expect("POIs", list_po_is.sync_detailed(
        client=api, openretailing_connection_id=connection,
    ), PoisResponse)
    lane = next(p for p in pois.poi_addresses if p.workstation_type == "pointOfService")

    paid = expect("payment", create_payment.sync_detailed(
        client=api,
        openretailing_connection_id=connection,
        idempotency_key=f"contract-{uuid.uuid4()}",
        prefer="wait=60",
        body=PaymentRequest.from_dict({
            "poiID": lane.poi_id,
            "amount": {"value": "12.34", "currency": "EUR"},
        }),
    ), TransactionResponse)
    if str(paid.transaction.state) != "approved":
        sys.exit(f"contract (b) payment: expected approved, got {paid.transaction.state}")

    receipts = expect("receipts", list_transaction_receipts.sync_detailed(
        paid.transaction.transaction_id, client=api, openretailing_connection_id=connection,
    ), ReceiptListResponse)
    if not receipts.receipts:
        sys.exit("contract (b) receipts: the approved payment has no receipt")

    expect("disconnect", disconnect.sync_detailed(
        client=api, openretailing_connection_id=connection,
    ), StatusResponse)

    # A code added to the EPS later must not break this client (ErrorCode is documented, open).
    later = StatusReturn.from_dict({
        "timestamp": "2026-01-01T12:00:00.000Z", "result": "failure",
        "error": "ERRCD_ADDED_LATER", "message": "a code this client was not generated with",
    })
    print(f"contract (b) unknown error code read as {later.error!r}")


if __name__ == "__main__":
    main()
