"""The `azure_blob` state backend: the state of a workspace as one blob in an Azure Storage container.

    blob        <key> for the default workspace, <key>env:<workspace> for the others (Terraform's azurerm
                backend names them the same way)
    lock        a lease on the state blob (15-60 s, renewed by a background thread while the lock is held,
                so a run that dies frees the lock within one lease period); who holds it is kept as JSON
                in the blob's metadata (`reconcilerlock`)
    writes      conditional on the ETag this backend last read or wrote (If-Match), so a state changed
                by someone else in between is never overwritten (StateConflictError)
    history     a snapshot of the blob is taken before every write, so every earlier version stays
                recoverable (`az storage blob list --include s`)

A write that fails for any reason keeps the state it meant to write in
`<local_dir>/<blob name>.errored.json` (mode 0600) and says how to push it later.

Nothing this module says ever contains the account key, the connection string or a SAS token.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient, BlobLeaseClient, BlobServiceClient, ContentSettings, ExponentialRetry
from pydantic import ValidationError

from reconciler import redact
from reconciler.errors import ReconcilerError, StateError, StateLockError
from reconciler.state.backend import LockInfo, StateBackend, StateConflictError, render_state, same_content
from reconciler.state.model import State
from reconciler.state.store import parse_state, write_private

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)

#: Blob metadata key holding the LockInfo JSON of the run that holds the lease.
LOCK_METADATA_KEY = "reconcilerlock"
#: Snapshot metadata key recording the serial of the state the snapshot holds.
SERIAL_METADATA_KEY = "reconcilerserial"
#: Blob metadata key holding the lease duration of the lock holder (how soon a dead holder's lock frees itself).
LEASE_METADATA_KEY = "reconcilerleaseseconds"
#: Terraform's azurerm backend: the blob of workspace W is `<key>env:W`.
WORKSPACE_SEPARATOR = "env:"

_LEASE_HELD_CODES = {
    "LeaseIdMissing",
    "LeaseAlreadyPresent",
    "LeaseIsBreakingAndCannotBeAcquired",
}
_LEASE_LOST_CODES = {
    "LeaseIdMismatchWithBlobOperation",
    "LeaseNotPresentWithBlobOperation",
    "LeaseLost",
    "LeaseIdMismatchWithLeaseOperation",
    "LeaseNotPresentWithLeaseOperation",
    "LeaseIsBrokenAndCannotBeRenewed",
}
_URL_QUERY = re.compile(r"(https?://[^\s?#'\"<>]+)\?[^\s'\"<>]*")
_SECRET_PAIR = re.compile(r"(?i)(AccountKey|SharedAccessSignature|sig)=[^;&\s'\"<>]+")

T = TypeVar("T")


@dataclass(frozen=True)
class _Seen:
    """The stored version this backend last read or wrote: its ETag (None: no blob) and its state (None: empty)."""

    etag: str | None
    state: State | None


class AzureBlobBackend(StateBackend):
    """The state of one workspace in one blob; see the module docstring."""

    def __init__(
        self,
        *,
        container: str,
        key: str,
        workspace: str | None = None,
        account_url: str | None = None,
        credential: TokenCredential | None = None,
        connection_string: str | None = None,
        lease_seconds: int = 60,
        local_dir: Path = Path("state"),
    ) -> None:
        if (account_url is None) == (connection_string is None):
            raise StateError(
                "the azure_blob state backend needs exactly one of account_url and connection_string",
                "set account_url (https://<account>.blob.core.windows.net, signed in with azure-identity) "
                "or connection_string, not both",
            )
        if connection_string is not None and credential is not None:
            raise StateError(
                "the azure_blob state backend takes a credential only with account_url",
                "a connection string carries its own key or SAS token; drop the credential or use account_url",
            )
        if not (15 <= lease_seconds <= 60 or lease_seconds == -1):
            raise StateError(
                f"lease_seconds {lease_seconds} is not a lease duration Azure Storage accepts",
                "use 15 to 60 seconds, or -1 for a lease that lasts until it is released or broken",
            )
        if not container or not key:
            raise StateError(
                "the azure_blob state backend needs a container and a key",
                "set container (an existing storage container) and key (the blob name, e.g. prod.json)",
            )
        self.container = container
        self.key = key
        self.workspace = workspace or "default"
        self.blob_name = key if self.workspace == "default" else f"{key}{WORKSPACE_SEPARATOR}{self.workspace}"
        self.location = f"azure_blob://{container}/{self.blob_name}"
        self.lease_seconds = lease_seconds
        self.local_dir = local_dir

        retry = ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1)
        options: dict[str, Any] = {"retry_policy": retry, "connection_timeout": 10, "read_timeout": 60}
        self._secrets: list[str] = []
        if connection_string is not None:
            self._secrets = [connection_string, *_connection_string_secrets(connection_string)]
            for secret in self._secrets:
                redact.register(secret)
            try:
                self._service = BlobServiceClient.from_connection_string(connection_string, **options)
            except ValueError as exc:
                raise StateError(
                    f"the connection string of state {self.location} is not valid: {self._clean(exc)}",
                    "copy it again from the storage account's Access keys page "
                    "(`az storage account show-connection-string --name ACCOUNT`)",
                ) from None
        else:
            assert account_url is not None
            if not account_url.startswith("https://"):
                raise StateError(
                    f"the account_url of state {self.location} is not an https:// URL",
                    "use https://<account>.blob.core.windows.net (Azure AD sign-in works only over HTTPS)",
                )
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            if "?" in account_url:
                self._secrets.append(account_url.split("?", 1)[1])
                redact.register(account_url.split("?", 1)[1])
            self._service = BlobServiceClient(account_url, credential=credential, **options)
        self.account = self._service.account_name or "?"
        self._blob: BlobClient = self._service.get_blob_client(container, self.blob_name)
        self._seen: _Seen | None = None
        self._held: LockInfo | None = None
        self._lease: BlobLeaseClient | None = None

    # -- reading -----------------------------------------------------------------------------------

    def exists(self) -> bool:
        try:
            props = self._call("read", self._blob.get_blob_properties)
        except _BlobMissing:
            return False
        return bool(props.size)

    def read(self) -> State:
        seen = self._download()
        self._seen = seen
        return seen.state.model_copy(deep=True) if seen.state is not None else State()

    def _download(self) -> _Seen:
        try:
            downloader = self._call("read", lambda: self._blob.download_blob())
            data = self._call("read", downloader.readall)
        except _BlobMissing:
            return _Seen(etag=None, state=None)
        etag = downloader.properties.etag
        if not data.strip():
            return _Seen(etag=etag, state=None)
        return _Seen(etag=etag, state=self._parse(data))

    def _parse(self, data: bytes) -> State:
        restore = (
            f"restore an earlier version from one of its snapshots ({self._list_snapshots_command()}) "
            "or delete the blob to start a new state"
        )
        return parse_state(data, f"state blob {self.location}", restore)

    def write(self, state: State, exact: bool = False) -> State:
        intended = state
        try:
            seen = self._seen if self._seen is not None else self._download()
            stored = seen.state
            if stored is not None and same_content(stored, state) and (not exact or stored.serial == state.serial):
                self._seen = seen
                return stored.model_copy(deep=True)
            serial = state.serial if exact else (stored.serial if stored is not None else state.serial) + 1
            intended = new = state.model_copy(update={"serial": serial}, deep=True)
            conditions: dict[str, Any]
            if seen.etag is None:
                conditions = {"match_condition": MatchConditions.IfMissing}
            else:
                conditions = {"etag": seen.etag, "match_condition": MatchConditions.IfNotModified}
            try:
                if seen.state is not None:
                    # The version being replaced stays recoverable; conditional, so it is the version we read.
                    self._call(
                        "write",
                        self._blob.create_snapshot,
                        metadata={SERIAL_METADATA_KEY: str(seen.state.serial)},
                        **conditions,
                    )
                result = self._call(
                    "write",
                    self._blob.upload_blob,
                    render_state(new).encode("utf-8"),
                    overwrite=True,
                    metadata=self._lock_metadata(self._held),
                    content_settings=ContentSettings(content_type="application/json"),
                    lease=self._lease,
                    **conditions,
                )
            except (_Conflict, _Exists, _BlobMissing):
                raise self._conflict(seen) from None
        except Exception as exc:
            raise self._kept_locally(intended, exc) from None
        self._seen = _Seen(etag=str(result["etag"]), state=new.model_copy(deep=True))
        return new

    def _conflict(self, seen: _Seen) -> StateConflictError:
        try:
            now: _Seen | None = self._download()
        except StateError:
            now = None
        ours = f"serial {seen.state.serial}" if seen.state is not None else "no state"
        if now is None:
            stored = "a version it could not read"
        elif now.state is None:
            stored = "no state (it was deleted)"
        else:
            stored = f"serial {now.state.serial}"
        return StateConflictError(
            f"state {self.location} changed since this run read it: it now holds {stored}, this run read {ours}",
            "another run wrote the state in between; nothing was overwritten. Run plan again against the "
            "stored state, and use the lock (apply takes it) so runs do not overlap",
        )

    def _kept_locally(self, state: State, exc: Exception) -> ReconcilerError:
        """Keep the state a failed write meant to store in local_dir; the error saying where."""
        path = self.errored_path()
        try:
            write_private(path, render_state(state))
            kept = (
                f"the state was kept in {path}; push it with `reconciler state push {path}` "
                "once the storage account is reachable"
            )
        except OSError as os_exc:
            kept = f"the state could not be kept in {path} either ({os_exc.strerror}); do not discard this run's output"
        if isinstance(exc, StateConflictError):
            kept += " (compare it with the stored state first: pushing it replaces what the other run wrote)"
        if isinstance(exc, ReconcilerError):
            detail = f"{exc.detail}; {kept}" if exc.detail else kept
            return type(exc)(exc.summary, detail, exc.location)
        return StateError(f"cannot write state {self.location}: {self._clean(exc)}", kept)

    def errored_path(self) -> Path:
        """Where a state that could not be written is kept: local_dir/<blob name, sanitized>.errored.json."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.blob_name).strip("._") or "state"
        return self.local_dir / f"{safe}.errored.json"

    # -- locking -----------------------------------------------------------------------------------

    def lock(self, operation: str) -> AbstractContextManager[LockInfo]:
        return self._locked(operation)

    @contextmanager
    def _locked(self, operation: str) -> Iterator[LockInfo]:
        info = LockInfo(operation=operation)
        lease = self._acquire(info)
        stop = threading.Event()
        renewer: threading.Thread | None = None
        if self.lease_seconds > 0:
            renewer = threading.Thread(
                target=self._renew,
                args=(lease, stop),
                name=f"reconciler-lease-{self.blob_name}",
                daemon=True,
            )
            renewer.start()
        try:
            yield info
        except BaseException:
            self._release(info, lease, stop, renewer, quiet=True)
            raise
        self._release(info, lease, stop, renewer, quiet=False)

    def _acquire(self, info: LockInfo) -> BlobLeaseClient:
        # A lease needs a blob: create an empty one (only if none exists; read() treats it as no state).
        try:
            created = self._call("lock", self._blob.upload_blob, b"", overwrite=False)
            if self._seen is not None and self._seen.etag is None:
                self._seen = _Seen(etag=str(created["etag"]), state=None)
        except (_Exists, _Conflict, _LeaseHeld):
            pass  # there is a blob already (if someone holds its lease, the acquire below names them)
        lease = BlobLeaseClient(self._blob, lease_id=info.id)
        try:
            self._call("lock", lease.acquire, lease_duration=self.lease_seconds)
        except _LeaseHeld:
            raise self._locked_error() from None
        try:
            before = self._call("lock", self._blob.get_blob_properties, lease=lease).etag
            after = self._call("lock", self._blob.set_blob_metadata, self._lock_metadata(info), lease=lease)
        except BaseException:
            _quietly(lease.release)
            raise
        self._follow_etag(before, str(after["etag"]))
        self._held, self._lease = info, lease
        return lease

    def _renew(self, lease: BlobLeaseClient, stop: threading.Event) -> None:
        interval = max(self.lease_seconds / 3, 1.0)
        while not stop.wait(interval):
            try:
                lease.renew()
            except HttpResponseError as exc:
                if _code(exc) in _LEASE_LOST_CODES:
                    log.warning("lost the lease on %s: %s", self.location, _code(exc))
                    return
                log.warning("could not renew the lease on %s (will retry): %s", self.location, self._clean(exc))
            except AzureError as exc:
                log.warning("could not renew the lease on %s (will retry): %s", self.location, self._clean(exc))

    def _release(
        self,
        info: LockInfo,
        lease: BlobLeaseClient,
        stop: threading.Event,
        renewer: threading.Thread | None,
        *,
        quiet: bool,
    ) -> None:
        stop.set()
        if renewer is not None:
            renewer.join(timeout=30)
        self._held, self._lease = None, None
        try:
            before = self._call("unlock", self._blob.get_blob_properties, lease=lease).etag
            after = self._call("unlock", self._blob.set_blob_metadata, {}, lease=lease)
            self._follow_etag(before, str(after["etag"]))
            self._call("unlock", lease.release)
        except ReconcilerError as exc:
            if quiet:
                log.warning("could not release the lock on %s: %s", self.location, exc.summary)
                return
            raise StateLockError(
                f"could not release the lock on state {self.location}: {exc.summary}",
                f"the lock frees itself within {self._expiry(self.lease_seconds)}, "
                f"or run `reconciler state unlock {info.id}`",
            ) from None

    def unlock(self, lock_id: str) -> None:
        try:
            props = self._call("unlock", self._blob.get_blob_properties)
        except _BlobMissing:
            raise StateLockError(
                f"state {self.location} is not locked (there is no state blob)", "there is nothing to unlock"
            ) from None
        holder = _lock_info(props.metadata)
        leased = props.lease.status == "locked"
        if holder is None:
            if leased:
                raise StateLockError(
                    f"state {self.location} is locked, but records no lock ID",
                    "it may be locked by another tool; its lease expires by itself, or break it with "
                    f"`az storage blob lease break --container-name {self.container} --blob-name {self.blob_name} "
                    f"--account-name {self.account}`",
                )
            raise StateLockError(f"state {self.location} is not locked", "there is nothing to unlock")
        if holder.id != lock_id:
            raise StateLockError(
                f"lock ID {lock_id} does not match the lock of state {self.location}",
                f"it is held by {holder.describe()}"
                if leased
                else f"it is not locked (the last lock, {holder.id}, has expired)",
            )
        if leased:
            self._call("unlock", BlobLeaseClient(self._blob).break_lease, lease_break_period=0)
        try:
            after = self._call("unlock", self._blob.set_blob_metadata, {})
        except _LeaseHeld:
            return  # someone took the lock right after the break; their metadata stays
        self._follow_etag(props.etag, str(after["etag"]))

    def holder(self) -> LockInfo | None:
        return self._holder()[0]

    def _holder(self) -> tuple[LockInfo | None, int | None]:
        """Who holds the lease now (None: nobody, or a lease without lock info) and its duration in seconds."""
        try:
            props = self._call("read the lock of", self._blob.get_blob_properties)
        except _BlobMissing:
            return None, None
        if props.lease.status != "locked":
            return None, None
        info = _lock_info(props.metadata)
        raw = (props.metadata or {}).get(LEASE_METADATA_KEY, "")
        return info, int(raw) if raw.lstrip("-").isdigit() else None

    def _locked_error(self) -> StateLockError:
        try:
            holder, seconds = self._holder()
        except StateError:
            holder, seconds = None, None
        expiry = self._expiry(seconds if seconds is not None else 60)
        if holder is None:
            return StateLockError(
                f"state {self.location} is locked by another run (it recorded no lock info)",
                f"wait for that run to finish; if it died, the lock frees itself within {expiry}",
            )
        return StateLockError(
            f"state {self.location} is locked by {holder.describe()}",
            f"wait for that run to finish; if it died, the lock frees itself within {expiry}, "
            f"or run `reconciler state unlock {holder.id}`",
        )

    def _lock_metadata(self, info: LockInfo | None) -> dict[str, str] | None:
        if info is None:
            return None
        return {LOCK_METADATA_KEY: info.model_dump_json(), LEASE_METADATA_KEY: str(self.lease_seconds)}

    def _expiry(self, seconds: int) -> str:
        return f"{seconds} s" if seconds > 0 else "never (its lease is infinite)"

    def _follow_etag(self, before: str | None, after: str) -> None:
        """Our own metadata change gave the blob a new ETag; keep writing against it if we had the old one."""
        if self._seen is not None and self._seen.etag == before:
            self._seen = _Seen(etag=after, state=self._seen.state)

    def close(self) -> None:
        self._service.close()

    # -- errors ------------------------------------------------------------------------------------

    def _call(self, action: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the SDK, turning its errors into StateErrors (or the private signals below) without secrets."""
        try:
            return func(*args, **kwargs)
        except ClientAuthenticationError as exc:
            self._denied(action, exc)
        except HttpResponseError as exc:
            code = _code(exc)
            if code == "ContainerNotFound":
                self._missing_container()
            if isinstance(exc, ResourceNotFoundError) or code == "BlobNotFound":
                raise _BlobMissing() from None
            if code in _LEASE_HELD_CODES:
                if action == "write":
                    raise self._locked_error() from None
                raise _LeaseHeld() from None
            if code in _LEASE_LOST_CODES:
                raise StateLockError(
                    f"this run lost its lock on state {self.location} ({code})",
                    "the lease expired or was broken (`reconciler state unlock`) while the run was still going; "
                    "run plan again",
                ) from None
            if isinstance(exc, ResourceExistsError):
                raise _Exists() from None
            if isinstance(exc, ResourceModifiedError) or exc.status_code == 412 or code == "ConditionNotMet":
                raise _Conflict() from None
            if exc.status_code == 403 or code.startswith("Authoriz"):
                self._denied(action, exc)
            raise StateError(
                f"cannot {action} state {self.location}: {self._clean(exc)}",
                f"storage account {self.account} answered HTTP {exc.status_code}; retry, "
                "and check the account's health in the Azure portal if it persists",
            ) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise StateError(
                f"cannot reach storage account {self.account} to {action} state {self.location}",
                f"{self._clean(exc)}; check the account URL / connection string and the network",
            ) from None
        except AzureError as exc:
            raise StateError(f"cannot {action} state {self.location}: {self._clean(exc)}") from None

    def _missing_container(self) -> NoReturn:
        raise StateError(
            f"storage container {self.container!r} does not exist in storage account {self.account}",
            f"create it with `az storage container create --name {self.container} --account-name {self.account} "
            "--auth-mode login`, or fix the container name in the backend configuration",
        )

    def _denied(self, action: str, exc: HttpResponseError) -> NoReturn:
        raise StateError(
            f"storage account {self.account} refused to let this run {action} state {self.location}: "
            f"{self._clean(exc)}",
            "with account_url, sign in (`az login`, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET) as an "
            "identity with the `Storage Blob Data Contributor` role on the container; with a connection string, "
            "check that its key or SAS token is current",
        )

    def _clean(self, exc: BaseException) -> str:
        """One line of an SDK error, without URLs' query strings (SAS tokens), keys or connection strings."""
        if isinstance(exc, HttpResponseError):
            code = _code(exc) or exc.reason or ""
            text = (exc.message or "").strip().splitlines()
            first = text[0] if text else ""
            message = f"{code}: {first}" if code and code not in first else first or str(code)
        else:
            lines = str(exc).strip().splitlines()
            message = lines[0] if lines else type(exc).__name__
        message = _URL_QUERY.sub(r"\1?(redacted)", message)
        message = _SECRET_PAIR.sub(r"\1=(redacted)", message)
        for secret in sorted(self._secrets, key=len, reverse=True):
            message = message.replace(secret, redact.MASK)
        return redact.redact(message)

    def _list_snapshots_command(self) -> str:
        return (
            f"`az storage blob list --container-name {self.container} --prefix {self.blob_name} "
            f"--include s --account-name {self.account}`"
        )


class _Signal(Exception):
    """An SDK outcome the backend handles itself (never leaves this module)."""


class _BlobMissing(_Signal):
    pass


class _Exists(_Signal):
    pass


class _Conflict(_Signal):
    pass


class _LeaseHeld(_Signal):
    pass


def _lock_info(metadata: dict[str, str] | None) -> LockInfo | None:
    raw = (metadata or {}).get(LOCK_METADATA_KEY)
    if not raw:
        return None
    try:
        return LockInfo.model_validate_json(raw)
    except ValidationError:
        return None


def _connection_string_secrets(connection_string: str) -> list[str]:
    secrets = []
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesssignature") and value:
            secrets.append(value)
    return secrets


def _quietly(func: Callable[[], object]) -> None:
    with suppress(AzureError):
        func()


def _code(exc: HttpResponseError) -> str:
    """The storage error code (e.g. LeaseAlreadyPresent) the SDK attaches to its errors; "" if none.

    The SDK gives a StorageErrorCode (a str Enum, whose str() is its Python name) when it knows the code.
    """
    code = getattr(exc, "error_code", None)
    if isinstance(code, Enum):
        code = code.value
    return str(code or "")
