"""PII masking of audit rows (SPEC §11, RS §13 security 8): names, phones, e-mails and birth dates are masked
wherever they are, the whole of `answers` is masked, and `record_audit` writes one masked row in the transaction."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from ingest.audit.rows import REDACTED, audit_values, mask_pii, record_audit
from ingest.core.schema import AuditLog
from tests.ingest_support import API, catalog, latest_audit, tokens  # noqa: F401


def test_pii_keys_are_masked_at_any_depth_and_in_lists():
    masked = mask_pii(
        {
            "first_name": "Ali",
            "Last-Name": "Valiyev",
            "fio": "Ali Valiyev",
            "username": "ali_tg",
            "phone": "+998901234567",
            "second_phone": "901234567",
            "email": "ali@example.uz",
            "birth_date": date(2005, 1, 2),
            "applicant": {"full_name": "A V", "contacts": [{"phone_number": "1"}, {"email": "x@y.z"}]},
            "telegram_user_id": 42,
            "region_id": uuid.UUID(int=1),
            "status": "submitted",
            "name": "Tashkent",
        }
    )
    for key in ("first_name", "Last-Name", "fio", "username", "phone", "second_phone", "email", "birth_date"):
        assert masked[key] == REDACTED, key
    assert masked["applicant"] == {"full_name": REDACTED, "contacts": [{"phone_number": REDACTED}, {"email": REDACTED}]}
    # Identifiers and catalog labels stay readable; values become JSON-ready.
    assert masked["telegram_user_id"] == 42 and masked["status"] == "submitted" and masked["name"] == "Tashkent"
    assert masked["region_id"] == str(uuid.UUID(int=1))


def test_answers_are_masked_whole_keeping_their_shape():
    masked = mask_pii(
        {
            "answers": {
                "birth_date": "2005-01-02",
                "second_phone": "+998901112233",
                "organization": "School 5",
                "visitor_count": 3,
                "time_slot": "10:00",
                "nested": {"a": [1, {"b": "c"}], "flag": True},
                "blank": "",
                "missing": None,
            }
        }
    )
    assert masked["answers"] == {
        "birth_date": REDACTED,
        "second_phone": REDACTED,
        "organization": REDACTED,
        "visitor_count": REDACTED,
        "time_slot": REDACTED,
        "nested": {"a": [REDACTED, {"b": REDACTED}], "flag": REDACTED},
        "blank": "",
        "missing": None,
    }


def test_emails_and_phone_numbers_are_masked_under_any_key():
    masked = mask_pii({"user": "boss@ttpu.uz", "note": "+998 90 123-45-67", "code": "DIR-SOFT-UZ", "d": "2024-01-01"})
    assert masked == {"user": REDACTED, "note": REDACTED, "code": "DIR-SOFT-UZ", "d": "2024-01-01"}


def test_audit_values_shape_and_checks():
    row = audit_values(
        actor_type="user",
        action="update",
        entity_table="catalog_item",
        before={"email": "a@b.c"},
        after={"answers": {"x": 1}},
        meta={"phone": "1"},
        ip="10.0.0.1",
        user_agent="x" * 2000,
        request_id="r" * 100,
    )
    assert row["before_data"] == {"email": REDACTED} and row["after_data"] == {"answers": {"x": REDACTED}}
    assert row["meta"] == {"phone": REDACTED} and len(row["user_agent"]) == 512 and len(row["request_id"]) == 64
    assert isinstance(row["id"], uuid.UUID) and row["created_at"] == row["updated_at"]
    with pytest.raises(ValueError):
        audit_values(actor_type="robot", action="create", entity_table="t")
    with pytest.raises(ValueError):
        audit_values(actor_type="user", action="explode", entity_table="t")


async def test_record_audit_writes_a_masked_row(db):
    entity = uuid.uuid4()
    async with db.sessionmaker() as s, s.begin():
        await record_audit(
            s,
            actor_type="service",
            actor_service="bot1",
            action="create",
            entity_table="bot1_applicant",
            entity_id=entity,
            after={"first_name": "Ali", "answers": {"organization": "X"}},
            ip="127.0.0.1",
        )
    async with db.sessionmaker() as s:
        row = (await s.scalars(select(AuditLog))).one()
    assert row.entity_id == entity and row.ip == "127.0.0.1"
    assert row.after_data == {"first_name": REDACTED, "answers": {"organization": REDACTED}}


def test_free_text_is_masked_whatever_it_holds():
    free = "Men Aziz Karimov, tel 90 123 45 67, Toshkent sh. Chilonzor 5"
    masked = mask_pii(
        {
            "suggestions": free,
            "employment_company": "Karimov & Sons",
            "employment_role": "owner",
            "Comments": [free],
            "employment_status": "employed",
        }
    )
    assert masked == {
        "suggestions": REDACTED,
        "employment_company": REDACTED,
        "employment_role": REDACTED,
        "Comments": [REDACTED],
        "employment_status": "employed",
    }


async def test_survey_free_text_sent_by_bot2_is_masked_in_the_audit_row(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    body = {
        "student_external_id": "SF-1001",
        "program_id": program_id,
        "employment_status": "employed",
        "employment_company": "Aziz Karimov IT",
        "suggestions": "Aziz Karimov, 90 123 45 67, aziz at mail dot uz",
    }
    r = await client.post(f"{API}/bot2/surveys/submit", json=body, headers=tokens.h2())
    assert r.status_code == 201, r.text
    after = (await latest_audit(db)).after_data
    assert after["suggestions"] == REDACTED and after["employment_company"] == REDACTED
    assert after["employment_status"] == "employed"
    assert "Karimov" not in str(after) and "45 67" not in str(after)
