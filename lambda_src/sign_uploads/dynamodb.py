"""A minimal DynamoDB client on the standard library: the job record's store without boto3.

The signer records every job it signs, so this is on its cold path: one SigV4 header-signed POST
per call (``sigv4.signed_headers``, proven equal to botocore's) over a keep-alive connection that
lives as long as the container. Only what the job record needs: GetItem, PutItem, UpdateItem and
Query, with DynamoDB's typed JSON marshalled to and from plain Python values.
"""

from __future__ import annotations

import json
from _thread import get_ident  # builtin: no import cost on the cold path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING or __package__:
    from .sigv4 import dns_suffix, signed_headers
else:
    from sigv4 import dns_suffix, signed_headers

if TYPE_CHECKING:
    from http.client import HTTPConnection

    from .config import Config, Credentials

API_VERSION = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
TIMEOUT_SECONDS = 3.0

# (thread, endpoint) -> an open connection: reused across invocations of a warm container. Per
# thread: Lambda runs one invocation at a time, but the local stack calls the handlers from
# several threads at once, and an HTTPConnection carries one request at a time.
_CONNECTIONS: dict[tuple[int, str], HTTPConnection] = {}


class DynamoDBError(Exception):
    """A call failed: ``kind`` is DynamoDB's ``__type`` (e.g. ConditionalCheckFailedException), or
    the transport error's class name. The message never carries item values."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind

    @property
    def condition_failed(self) -> bool:
        return self.kind == "ConditionalCheckFailedException"


class Table:
    """One table, called with the given credentials (``now`` is injected by the caller's clock)."""

    def __init__(
        self, name: str, *, region: str, credentials: Credentials, endpoint_url: str | None = None
    ) -> None:
        self.name = name
        self.region = region
        self.credentials = credentials
        self.url = (endpoint_url or f"https://dynamodb.{region}.{dns_suffix(region)}") + "/"

    def get(self, key: Mapping[str, Any], *, now: float, consistent: bool = True) -> dict[str, Any] | None:
        reply = self.call("GetItem", {"Key": marshal_item(key), "ConsistentRead": consistent}, now=now)
        item = reply.get("Item")
        return None if item is None else unmarshal_item(item)

    def put(
        self,
        item: Mapping[str, Any],
        *,
        now: float,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        request: dict[str, Any] = {"Item": marshal_item(item)}
        _add_expression(request, condition, names, values)
        self.call("PutItem", request, now=now)

    def update(
        self,
        key: Mapping[str, Any],
        expression: str,
        *,
        now: float,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """UpdateItem; returns the item as it is after the update (``ALL_NEW``)."""
        request: dict[str, Any] = {
            "Key": marshal_item(key),
            "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW",
        }
        _add_expression(request, condition, names, values)
        return unmarshal_item(self.call("UpdateItem", request, now=now).get("Attributes", {}))

    def query(
        self,
        *,
        index: str,
        key_condition: str,
        names: Mapping[str, str],
        values: Mapping[str, Any],
        now: float,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """One page of an index query (the sweep runs again for the rest)."""
        request: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "Limit": limit,
        }
        _add_expression(request, None, names, values)
        return [unmarshal_item(item) for item in self.call("Query", request, now=now).get("Items", [])]

    def call(self, operation: str, request: dict[str, Any], *, now: float) -> dict[str, Any]:
        body = json.dumps({"TableName": self.name, **request}, separators=(",", ":")).encode()
        credentials = self.credentials
        headers = signed_headers(
            url=self.url,
            headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"{API_VERSION}.{operation}"},
            body=body,
            service="dynamodb",
            region=self.region,
            access_key=credentials.access_key,
            secret_key=credentials.secret_key,
            session_token=credentials.session_token,
            now=now,
        )
        status, payload = _post(self.url, headers, body)
        try:
            document = json.loads(payload) if payload else {}
        except ValueError:
            raise DynamoDBError("InvalidResponse", f"{operation} answered {status} with no JSON") from None
        if status != 200:
            kind = str(document.get("__type", f"HTTP{status}")).rsplit("#", 1)[-1][:100]
            raise DynamoDBError(kind, f"{operation} answered {status}")
        return document if isinstance(document, dict) else {}


def jobs_table(config: Config, function: str) -> Table:
    """The job table of a function's config (``JOBS_TABLE``, its region, credentials and endpoint);
    ``function`` names the caller in the error when the variable is missing."""
    if config.jobs_table is None:
        if TYPE_CHECKING or __package__:
            from .config import ConfigError
        else:
            from config import ConfigError
        raise ConfigError(f"JOBS_TABLE is required by the {function}")
    return Table(
        config.jobs_table,
        region=config.region,
        credentials=config.credentials,
        endpoint_url=config.dynamodb_endpoint_url,
    )


def _add_expression(
    request: dict[str, Any],
    condition: str | None,
    names: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
) -> None:
    if condition is not None:
        request["ConditionExpression"] = condition
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    if values:
        request["ExpressionAttributeValues"] = marshal_item(values)


def _post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """POST over a kept-alive connection; one reconnect if the kept one was closed under us."""
    for attempt in (1, 2):
        connection = _connection(url)
        try:
            connection.request("POST", "/", body=body, headers=headers)
            reply = connection.getresponse()
            return reply.status, reply.read()
        except OSError as error:  # includes http.client's RemoteDisconnected and timeouts
            connection.close()
            _CONNECTIONS.pop((get_ident(), url), None)
            if attempt == 2:
                raise DynamoDBError(type(error).__name__, "the request did not complete") from None
    raise AssertionError("unreachable")


def _connection(url: str) -> HTTPConnection:
    connection = _CONNECTIONS.get((get_ident(), url))
    if connection is None:
        import http.client  # only here: the first record of a container pays for it

        parts = urlsplit(url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = _CONNECTIONS[(get_ident(), url)] = kind(parts.netloc, timeout=TIMEOUT_SECONDS)
    return connection


# --- DynamoDB's typed JSON -----------------------------------------------------------------------


def marshal_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: marshal(value) for name, value in item.items()}


def marshal(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if (
        isinstance(value, int) or type(value).__name__ == "Decimal"
    ):  # decimal's import is left off the cold path
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": marshal_item(value)}
    if isinstance(value, (list, tuple)):
        return {"L": [marshal(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__} in DynamoDB")


def unmarshal_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: unmarshal(value) for name, value in item.items()}


def unmarshal(value: Mapping[str, Any]) -> Any:
    ((kind, data),) = value.items()
    if kind == "S":
        return data
    if kind == "N":
        from decimal import Decimal

        number = Decimal(data)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "M":
        return unmarshal_item(data)
    if kind == "L":
        return [unmarshal(v) for v in data]
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    raise TypeError(f"unexpected DynamoDB type {kind}")
