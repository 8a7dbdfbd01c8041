"""Credit note routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import CreditNotesReader, CreditNotesWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.billing.credit_notes.schemas import (
    CreditNote,
    CreditNoteCreateParams,
    CreditNoteLineItem,
    CreditNoteLinesParams,
    CreditNoteListParams,
    CreditNotePreviewLinesParams,
    CreditNotePreviewParams,
    CreditNoteUpdateParams,
    CreditNoteVoidParams,
    credit_note_object,
    line_object,
)
from beyondpay.billing.credit_notes.service import credit_note_service, page_of_lines, view_of

router = Router(prefix="/v1/credit_notes", tags=["credit_notes"])

CreditNoteId = Annotated[str, Path(max_length=255, description="The credit note's id (`cn_…`).")]


@router.post("", returns=CreditNote)
async def create_credit_note(
    session: SessionDep,
    caller: CreditNotesWriter,
    params: Body[CreditNoteCreateParams],
    mutation: Mutation,
) -> Outcome:
    """Issue a credit note against an open or paid invoice.

    Before payment it lowers the invoice's ``amount_due``; after payment its total goes back
    by ``refund_amount`` (through the invoice's payment), ``credit_amount`` (to the customer's
    balance) and ``out_of_band_amount``. Each line reverses its share of the invoice line's GST.
    """
    note = await credit_note_service.create(session, caller, params, mutation)
    return Outcome(await credit_note_service.rendered(session, note))


# Declared before /{credit_note}, which would otherwise take "preview" for an id.
@router.get("/preview", returns=CreditNote)
async def preview_credit_note(
    session: SessionDep, caller: CreditNotesReader, params: Query[CreditNotePreviewParams]
) -> dict[str, Any]:
    """Preview the credit note these parameters would issue, issuing nothing."""
    note, lines = await credit_note_service.preview(session, caller, params)
    return credit_note_object(note, view_of(note, lines))


@router.get("/preview/lines", returns=CreditNoteLineItem)
async def preview_credit_note_lines(
    session: SessionDep, caller: CreditNotesReader, params: Query[CreditNotePreviewLinesParams]
) -> Listed:
    """The lines of the credit note these parameters would issue."""
    note, lines = await credit_note_service.preview(session, caller, params)
    page, has_more = page_of_lines(lines, params)
    return Listed([line_object(line, note.livemode) for line in page], has_more)


@router.get("/{credit_note}", returns=CreditNote)
async def retrieve_credit_note(
    credit_note: CreditNoteId, session: SessionDep, caller: CreditNotesReader
) -> dict[str, Any]:
    """Retrieve a credit note."""
    note = await credit_note_service.get(session, caller, credit_note)
    return await credit_note_service.rendered(session, note)


@router.post("/{credit_note}", returns=CreditNote)
async def update_credit_note(
    credit_note: CreditNoteId,
    session: SessionDep,
    caller: CreditNotesWriter,
    params: Body[CreditNoteUpdateParams],
) -> Outcome:
    """Update a credit note's memo and metadata."""
    note = await credit_note_service.update(session, caller, credit_note, params)
    return Outcome(await credit_note_service.rendered(session, note))


@router.post("/{credit_note}/void", returns=CreditNote)
async def void_credit_note(
    credit_note: CreditNoteId,
    session: SessionDep,
    caller: CreditNotesWriter,
    params: Body[CreditNoteVoidParams],
) -> Outcome:
    """Void a credit note: what it credited is undone (a refund cannot be)."""
    note = await credit_note_service.void(session, caller, credit_note)
    return Outcome(await credit_note_service.rendered(session, note))


@router.get("/{credit_note}/lines", returns=CreditNoteLineItem)
async def list_credit_note_lines(
    credit_note: CreditNoteId,
    session: SessionDep,
    caller: CreditNotesReader,
    params: Query[CreditNoteLinesParams],
) -> Listed:
    """List a credit note's lines, in its order."""
    note = await credit_note_service.get(session, caller, credit_note)
    lines, has_more = await credit_note_service.lines(session, caller, credit_note, params)
    return Listed([line_object(line, note.livemode) for line in lines], has_more)


@router.get("", returns=CreditNote)
async def list_credit_notes(
    session: SessionDep, caller: CreditNotesReader, params: Query[CreditNoteListParams]
) -> Listed:
    """List credit notes (of an ``invoice`` or a ``customer``), newest first."""
    rows, has_more = await credit_note_service.list(session, caller, params)
    return Listed([await credit_note_service.rendered(session, row) for row in rows], has_more)
