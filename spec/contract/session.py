"""A token and a connection of the demo client, for the contract checks (standard library only)."""

import base64
import json
import os
import urllib.parse
import urllib.request

BASE = os.environ["EPS_CONTRACT_BASE"]
CLIENT = os.environ["EPS_CONTRACT_CLIENT"]
SECRET = os.environ["EPS_CONTRACT_SECRET"]
TIMEOUT = 30

CONNECT_BODY = {
    "transmissionID": 123456,
    "timestamp": "2021-04-08T05:20:00",
    "vendor": {"vendorName": "contract", "vendorModel": "schemathesis", "vendorModelVersion": "1"},
    "applicationName": "contract checks",
    "applicationSoftwareVersion": "1",
    "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}],
}


def token(scope="read write"):
    """An access token of the demo client."""
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    data = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode()
    request = urllib.request.Request(
        f"{BASE}/oauth/token", data=data, headers={"Authorization": f"Basic {basic}"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.load(response)["access_token"]


def connect(access_token):
    """A connection id for the demo site."""
    request = urllib.request.Request(
        f"{BASE}/connection",
        data=json.dumps(CONNECT_BODY).encode(),
        headers={"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.load(response)["connectionID"]
