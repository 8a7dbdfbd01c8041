'''One shape for every route: the plumbing lives here, a route says only what is its own.

A route is its path, its access, its parameters, what it does, one call to the service and the
render::

    @router.post("", returns=Customer)
    async def create_customer(
        session: SessionDep, caller: Writer, params: Body[CustomerCreateParams]
    ) -> Outcome:
        """Create a customer."""
        return Outcome(customer_object(await customer_service.create(session, caller, params)))

What :class:`Router` does for it, read from the endpoint's own signature (as polar's
``routing.py`` reads its ``APIRoute``'s dependant):

- **A mutation** is an endpoint annotated to return :class:`~beyondpay.api.mutation.Outcome`.
  It runs inside :func:`~beyondpay.api.mutation.run_mutation` (one transaction, the audit record,
  the ``Idempotency-Key``); a parameter annotated ``Mutation`` receives the runner's handle, for
  use cases in atomic phases (``mutation.checkpoint``).
- **Parameters**: ``Body[Model]`` (form or JSON body) and ``Query[Model]`` (bracketed query
  string) parse with ``api.params``, once per request however many dependencies name them; the
  OpenAPI document describes them. A route that names none takes none: a ``GET`` takes only
  ``expand[]`` (:class:`~beyondpay.kit.params.RetrieveParams`), a ``POST`` or ``DELETE`` nothing
  (:class:`~beyondpay.kit.params.NoParams`), and anything else sent is refused, naming it.
- **Checks before the mutation**: ``checks=(dependency, …)`` run before the mutation starts, so
  what they refuse is a validation failure, never stored under the ``Idempotency-Key`` (the same
  key may retry the request corrected). A check that computes what the use case needs is a
  dependency parameter of the endpoint instead.
- **What it does** is the endpoint's docstring: its first paragraph is the operation's
  ``summary`` in the OpenAPI document, the rest its ``description``.
- **Access**: the ``authorize(...)`` dependency (or a PSP session's) names what the route needs;
  the document's ``x-beyondpay-access`` and ``security`` are read from it, never repeated.
- **The caller** a mutation runs for (its idempotency keys and audit records): the endpoint's
  parameter annotated ``Caller`` where it has one (a route before any session computes it from
  the credential it presents), else the caller its access dependency authenticated
  (``request.state.caller``).
- **Refusals that commit**: ``answered=(ErrorType, …)`` on a mutation renders those errors as
  its outcome instead of rolling its transaction back, so what the use case wrote before the
  refusal commits with it (a wrong UPI PIN's counted try).
- **Responses** beyond the object returned are ``responses={status: …}``: a description alone
  is an error envelope (a refusal's 402), a dict is FastAPI's own (an image's content, with
  ``response_class`` for a body that is not JSON).
- **Expansions**: ``expand={...}`` lists what ``expand[]`` may name; the parameters' ``expand``
  is checked before the endpoint runs (``data.``-prefixed on a list), and a parameter named
  ``expand`` receives the checked paths.
- **Reads render themselves**: a read endpoint returns the object (a dict, answered as JSON),
  a :class:`Listed` (answered as Stripe's list envelope on the request's path) or any
  ``Response`` it built itself. An endpoint annotated ``-> Listed`` names the object its list
  holds (``returns=Rule``); the envelope's documented shape is derived from it.
- ``RingDep`` is the key ring; ``DatabaseDep`` the database, for a unit of work of its own.
'''

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar, get_args, get_origin

from fastapi import APIRouter, Depends, Request
from fastapi.params import Depends as DependsMarker
from pydantic import BaseModel
from starlette.responses import Response

from beyondpay.api.auth import SessionDep
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import ErrorEnvelope, operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import NoParams, RetrieveParams
from beyondpay.merchants.domain import Caller

ModelT = TypeVar("ModelT", bound=BaseModel)
Endpoint = Callable[..., Awaitable[Any]]

SECRET_ONLY: Final = "secret key"  # noqa: S105 (a label, not a secret)
PLATFORM_ONLY: Final = "platform admin"
# Appended to the scope of a route that publishable keys may call too (with what it limits).
OR_PUBLISHABLE: Final = " or publishable key"

if TYPE_CHECKING:
    # For the type checker ``Body[X]`` is an ``X``; at run time it is the parsing dependency.
    Body = Annotated[ModelT, "body"]
    Query = Annotated[ModelT, "query"]
else:

    class Body:
        """``Body[Model]``: the request body, decoded and validated against ``Model``."""

        def __class_getitem__(cls, model: type[BaseModel]) -> Any:
            return _body_parameter(model)

    class Query:
        """``Query[Model]``: the query string, decoded with bracket nesting and validated."""

        def __class_getitem__(cls, model: type[BaseModel]) -> Any:
            return _query_parameter(model)


# One dependency per model: FastAPI solves a dependency once per request by its callable, so an
# endpoint and a check that both take ``Body[Model]`` share one parse.
@functools.cache
def _body_parameter(model: type[BaseModel]) -> Any:
    return Annotated[model, Depends(body(model))]


@functools.cache
def _query_parameter(model: type[BaseModel]) -> Any:
    return Annotated[model, Depends(query(model))]


# Dependencies are ``async``: FastAPI runs a plain ``def`` dependency in a thread pool, a
# thread hop per request that cost ~2 ms of CPU per paid intent (bench/payments.py).
async def key_ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


RingDep = Annotated[KeyRing, Depends(key_ring)]


async def database(request: Request) -> Database:
    found: Database = request.app.state.database
    return found


# For work that must commit whatever the request's outcome (a counted try), in a unit of work
# of its own beside the request's.
DatabaseDep = Annotated[Database, Depends(database)]


def access_label(marker: dict[str, Any]) -> str:
    """``x-beyondpay-access`` for what an ``authorize`` dependency enforces."""
    if marker.get("label"):
        return str(marker["label"])
    if marker.get("platform"):
        return PLATFORM_ONLY
    if marker.get("scope") is None:
        return SECRET_ONLY
    if marker.get("publishable"):
        return f"{marker['scope']}{OR_PUBLISHABLE}"
    return str(marker["scope"])


@dataclass(frozen=True, slots=True)
class Listed:
    """What a list route returns: the page's objects, whether more follow, and any other keys
    of the envelope (a search's ``next_page``). Rendered as ``{"object": "list", "url": <the
    request's path>, "has_more", "data"}``."""

    data: list[dict[str, Any]]
    has_more: bool = False
    object: str = "list"
    extra: dict[str, Any] = field(default_factory=dict)


def _rendered(request: Request, answer: Any) -> Response:
    if isinstance(answer, Response):
        return answer
    if isinstance(answer, Listed):
        envelope = list_object(request.url.path, answer.data, answer.has_more)
        envelope["object"] = answer.object
        return json_response({**envelope, **answer.extra})
    invariant(isinstance(answer, dict), "a read route answers an object, a Listed or a Response")
    return json_response(answer)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the router reads off an endpoint's signature."""

    signature: inspect.Signature
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    params_name: str | None
    access: dict[str, Any] | None
    mutation: bool
    mutation_name: str | None
    wants_expand: bool
    caller_name: str | None
    lists: bool
    own: frozenset[str]

    @classmethod
    def of(cls, endpoint: Endpoint, method: str) -> _Shape:
        hints = typing.get_type_hints(endpoint, include_extras=True)
        signature = inspect.signature(endpoint)
        found_body = found_query = None
        params_name = mutation_name = caller_name = None
        access: dict[str, Any] | None = None
        wants_expand = False
        parameters = []
        for name, parameter in signature.parameters.items():
            hint = hints.get(name, parameter.annotation)
            if hint is Mutation:
                mutation_name = name
                continue  # filled by the router, not by FastAPI
            if name == "expand" and not _dependencies(hint):
                wants_expand = True
                continue
            if _dependencies(hint) and get_args(hint)[0] is Caller:
                caller_name = name
            for dependency in _dependencies(hint):
                call = dependency.dependency
                if (model := getattr(call, "__beyondpay_body__", None)) is not None:
                    found_body, params_name = model, name
                if (model := getattr(call, "__beyondpay_query__", None)) is not None:
                    found_query, params_name = model, name
                access = access or _access_of(call)
            parameters.append(parameter.replace(annotation=hint))
        own = frozenset(parameter.name for parameter in parameters)
        if found_body is None and found_query is None:
            # A route that names no parameters takes none (a GET: only ``expand[]``), and what
            # is sent anyway is refused, naming it, as Stripe refuses an unknown parameter.
            params_name = _DEFAULT_PARAMS
            if method == "POST":
                found_body, hint = NoParams, _body_parameter(NoParams)
            else:
                found_query = RetrieveParams if method == "GET" else NoParams
                hint = _query_parameter(found_query)
            parameters.append(
                inspect.Parameter(params_name, inspect.Parameter.KEYWORD_ONLY, annotation=hint)
            )
        returned = hints.get("return")
        return cls(
            signature=signature.replace(parameters=parameters, return_annotation=Response),
            body=found_body,
            query=found_query,
            params_name=params_name,
            access=access,
            mutation=returned is Outcome,
            mutation_name=mutation_name,
            wants_expand=wants_expand,
            caller_name=caller_name,
            lists=returned is Listed,
            own=own,
        )


_DEFAULT_PARAMS: Final = "_beyondpay_params"


def _dependencies(hint: Any) -> list[DependsMarker]:
    if get_origin(hint) is not Annotated:
        return []
    return [extra for extra in get_args(hint)[1:] if isinstance(extra, DependsMarker)]


def _access_of(call: Any) -> dict[str, Any] | None:
    """The access marker of ``call`` or of a dependency it declares (a PSP session depends on
    nothing marked; its own marker names it)."""
    marker = getattr(call, "__beyondpay_access__", None)
    if marker is not None:
        return dict(marker)
    try:
        hints = typing.get_type_hints(call, include_extras=True)
    except (NameError, TypeError):
        return None
    for hint in hints.values():
        for dependency in _dependencies(hint):
            found = getattr(dependency.dependency, "__beyondpay_access__", None)
            if found is not None:
                return dict(found)
    return None


def _handler(
    endpoint: Endpoint,
    shape: _Shape,
    allowed: frozenset[str],
    listing: bool,
    answered: tuple[type[BeyondpayError], ...] = (),
) -> Endpoint:
    """The function FastAPI calls: the endpoint's own parameters, plus the request and the
    session the plumbing needs where the endpoint does not take them itself (FastAPI solves a
    dependency once per request, so the endpoint and the plumbing share the session)."""
    parameters = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in shape.signature.parameters.values()
    ]
    request_name = next((p.name for p in parameters if p.annotation is Request), None)
    session_name = next((p.name for p in parameters if p.annotation == SessionDep), None)
    if request_name is None:
        request_name = "_request"
        parameters.append(
            inspect.Parameter(request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    if session_name is None:
        session_name = "_session"
        parameters.append(
            inspect.Parameter(session_name, inspect.Parameter.KEYWORD_ONLY, annotation=SessionDep)
        )
    own = shape.own

    async def handle(**arguments: Any) -> Any:
        request: Request = arguments[request_name]
        session = arguments[session_name]
        params = arguments.get(shape.params_name) if shape.params_name else None
        arguments = {name: value for name, value in arguments.items() if name in own}
        expanded = refuse_expansions(
            getattr(params, "expand", None) or (), set(allowed), listing=listing
        )
        if shape.wants_expand:
            arguments["expand"] = expanded
        if not shape.mutation:
            return _rendered(request, await endpoint(**arguments))

        async def execute(mutation: Mutation) -> Outcome:
            if shape.mutation_name is not None:
                arguments[shape.mutation_name] = mutation
            try:
                outcome: Outcome = await endpoint(**arguments)
            except answered as refusal:
                return Outcome(refusal.to_dict(), refusal.status)
            return outcome

        caller: Caller | None = (
            arguments[shape.caller_name]
            if shape.caller_name is not None
            else getattr(request.state, "caller", None)
        )
        invariant(caller is not None, "a mutation route authenticates its caller")
        assert caller is not None
        return await run_mutation(request, session, caller, params, execute)

    handle.__signature__ = shape.signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    handle.__name__ = endpoint.__name__
    handle.__doc__ = None  # the summary and description are the endpoint's (see _told)
    return handle


def _told(endpoint: Endpoint) -> tuple[str, str]:
    """The operation's ``summary`` and ``description`` from the endpoint's docstring: its first
    paragraph (without the closing full stop) and the rest."""
    told = inspect.getdoc(endpoint)
    invariant(bool(told), f"{endpoint.__name__} says what it does in a docstring")
    first, _, rest = (told or "").partition("\n\n")
    # FastAPI reads an endpoint's docstring as the description where it is given none.
    return " ".join(first.split()).removesuffix("."), rest.strip()


def _responses(responses: dict[int, str | dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """FastAPI's ``responses`` for the router's: a description alone is an error envelope."""
    return {
        status: {"model": ErrorEnvelope, "description": answer}
        if isinstance(answer, str)
        else answer
        for status, answer in responses.items()
    }


def _refuse_sync_dependencies(route: Any) -> None:
    """FastAPI runs a plain ``def`` dependency in a thread pool: a thread hop on every request
    (it cost ~2 ms of CPU per paid intent in bench/payments.py). Every dependency is ``async``."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        call = dependant.call
        if call is not None and dependant is not route.dependant:
            invariant(
                inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call),
                f"{route.path}: the dependency {getattr(call, '__name__', call)} is not async",
            )
        pending.extend(dependant.dependencies)


class Router(APIRouter):
    """An ``APIRouter`` whose ``get``, ``post`` and ``delete`` take the route's shape from the
    endpoint (see the module's docstring)."""

    def _shaped(
        self,
        method: str,
        path: str,
        *,
        returns: Any = None,
        expand: Iterable[str] = (),
        listing: bool = False,
        access: str | None = None,
        status_code: int | None = None,
        checks: Iterable[Callable[..., Any]] = (),
        responses: dict[int, str | dict[str, Any]] | None = None,
        response_class: type[Response] | None = None,
        answered: tuple[type[BeyondpayError], ...] = (),
    ) -> Callable[[Endpoint], Endpoint]:
        def decorate(endpoint: Endpoint) -> Endpoint:
            shape = _Shape.of(endpoint, method)
            documents = returns
            if (
                shape.lists
                and returns is not None
                and not listing
                and not hasattr(returns, "__beyondpay_list__")
            ):
                documents = list_of(returns)  # -> Listed names the object its list holds
            on_list = shape.lists or bool(getattr(returns, "__beyondpay_list__", False))
            label = access or (access_label(shape.access) if shape.access else None)
            invariant(label is not None, f"{endpoint.__name__} names who may call it")
            assert label is not None
            documented = operation(
                body=shape.body, query=shape.query, returns=documents, access=label
            )
            # A payer's route (its session's marker, or a public one named by hand) is
            # documented with the PSP's security scheme, not the merchant keys'.
            if label.startswith("payer"):
                documented["openapi_extra"]["security"] = (
                    [] if "none" in label else [{"payer_session": []}]
                )
            options: dict[str, Any] = {**documented}
            if status_code is not None:
                options["status_code"] = status_code
            if responses:
                options["responses"] = {**options.get("responses", {}), **_responses(responses)}
            if response_class is not None:
                options["response_class"] = response_class
            summary, description = _told(endpoint)
            self.add_api_route(
                path,
                _handler(endpoint, shape, frozenset(expand), on_list, answered),
                methods=[method],
                summary=summary,
                description=description,
                name=endpoint.__name__,
                dependencies=[Depends(check) for check in checks],
                **options,
            )
            _refuse_sync_dependencies(self.routes[-1])
            return endpoint

        return decorate

    def get(self, path: str, **shape: Any) -> Callable[[Endpoint], Endpoint]:  # type: ignore[override]
        return self._shaped("GET", path, **shape)

    def post(self, path: str, **shape: Any) -> Callable[[Endpoint], Endpoint]:  # type: ignore[override]
        return self._shaped("POST", path, **shape)

    def delete(self, path: str, **shape: Any) -> Callable[[Endpoint], Endpoint]:  # type: ignore[override]
        return self._shaped("DELETE", path, **shape)


RowT = TypeVar("RowT")


def listed(
    render: Callable[[RowT], dict[str, Any]], page: tuple[Sequence[RowT], bool] | Sequence[RowT]
) -> Listed:
    """A list route's answer from a service's page (its rows, whether more follow) or from all
    its rows: each row rendered by ``render``, so that a list route is its call to the service
    and no loop."""
    rows, has_more = page if isinstance(page, tuple) else (page, False)
    return Listed([render(row) for row in rows], has_more)
