"""Catalog CRUD and the programs view (SPEC §3/§5, RS §3.4 and its §11 tests), on SQLite and Postgres."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import seed_catalog
from ingest.core.schema import CatalogItem, EnrollmentHeadcount, RosterEntry
from tests.dashboard_support import API, Account, admin, audit_actions, seeded_catalog, viewer
from tests.ingest_support import Tokens, catalog, tokens

__all__ = ["admin", "catalog", "tokens", "viewer"]

ITEMS = f"{API}/catalog/items/"
PROGRAM_META = {"level": "bachelor", "track": "italian", "language": "Italian/English", "duration_years": 4}


async def test_anonymous_cannot_read(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(f"{ITEMS}?type=direction")
    assert response.status_code == 401


async def test_viewer_reads_directions_with_bearer(
    client: AsyncTestClient[Litestar], session: AsyncSession, viewer: Account
) -> None:
    await seeded_catalog(session)
    response = await client.get(f"{ITEMS}?type=direction", headers=viewer.auth)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 8 and body["next"] is None and body["previous"] is None
    assert body["results"][0]["code"] == "DIR-MECH-IT"  # sort_order 1
    assert {r["type"] for r in body["results"]} == {"direction"}


async def test_viewer_cannot_modify_catalog(client: AsyncTestClient[Litestar], viewer: Account) -> None:
    response = await client.post(ITEMS, json={"type": "region", "name": "X"}, headers=viewer.auth)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


async def test_admin_can_crud_catalog(client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account) -> None:
    created = await client.post(
        ITEMS,
        json={"type": "program", "name": "Program A", "code": "PA", "metadata": PROGRAM_META},
        headers=admin.auth,
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["code"] == "PA" and item["metadata"] == PROGRAM_META
    path = f"{ITEMS}{item['id']}"
    updated = await client.patch(path, json={"name": "Updated", "name_uz": "Yangilangan"}, headers=admin.auth)
    assert updated.status_code == 200
    assert updated.json()["name"] == "Updated" and updated.json()["name_uz"] == "Yangilangan"
    assert (await client.get(path, headers=admin.auth)).json()["name"] == "Updated"
    assert (await client.delete(path, headers=admin.auth)).status_code == 204
    assert (await client.get(path, headers=admin.auth)).status_code == 404
    assert await audit_actions(session, "catalog_item") == ["create", "update", "delete"]


async def stored_meta(session: AsyncSession, item_id: str) -> dict[str, Any]:
    meta = await session.scalar(select(CatalogItem.meta).where(CatalogItem.id == uuid.UUID(item_id)))
    await session.commit()  # SQLite: never leave a test holding a read transaction
    return dict(meta or {})


async def test_metadata_answers_the_names_of_the_columns(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account, tokens: Tokens
) -> None:
    """The reference's bot2 labels its buttons with `metadata.name_<lang>` (reference-clients.md): the answered
    metadata carries the non-empty name columns, at once after a rename, and the stored metadata never holds them."""
    soft = {
        "name_uz": "Dasturiy ta'minot muhandisligi 🇺🇿",
        "name_ru": "Программная инженерия 🇺🇿",
        "name_en": "Software Engineering 🇺🇿",
    }
    directions = (await client.get(f"{ITEMS}?type=direction", headers=admin.auth)).json()["results"]
    item = next(d for d in directions if d["code"] == "DIR-SOFT-UZ")
    assert item["metadata"] == {"diploma": "uzbek", **soft} == item["meta"]
    assert await stored_meta(session, item["id"]) == {"diploma": "uzbek"}
    path = f"{ITEMS}{item['id']}"
    renamed = await client.patch(path, json={"name_ru": "Программная инженерия", "name_en": ""}, headers=admin.auth)
    assert renamed.status_code == 200, renamed.text
    expected = {"diploma": "uzbek", "name_uz": soft["name_uz"], "name_ru": "Программная инженерия"}
    assert renamed.json()["metadata"] == expected == (await client.get(path, headers=admin.auth)).json()["meta"]
    assert await stored_meta(session, item["id"]) == {"diploma": "uzbek"}
    # the programs view answers the same metadata; our own bots' catalog keeps the stored one and the columns
    programs = (await client.get(f"{API}/catalog/programs/?search=B-IT-ME", headers=admin.auth)).json()["results"]
    (program,) = [p for p in programs if p["code"] == "B-IT-ME"]
    assert set(program["metadata"]) == {"level", "track", "language", "duration_years", *soft}
    assert program["metadata"]["name_en"] == program["name_en"] == "Mechanical Engineering"
    bots = (await client.get(f"{API}/bot/catalog?type=direction", headers=tokens.h2())).json()["results"]
    (mine,) = [d for d in bots if d["code"] == "DIR-SOFT-UZ"]
    assert mine["metadata"] == {"diploma": "uzbek"} and mine["name_ru"] == "Программная инженерия"


async def test_names_in_written_metadata_fill_the_columns_and_are_not_stored(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account
) -> None:
    """The reference dashboard gives translations only in metadata, and sends back the metadata it read: the names
    there fill the name columns the body leaves blank (a non-blank column in the body wins) and are not stored."""
    bare = await client.post(
        ITEMS, json={"type": "program", "name": "Bare", "name_uz": "Yalang'och"}, headers=admin.auth
    )
    assert bare.status_code == 201 and bare.json()["metadata"] == {"name_uz": "Yalang'och"}
    path = f"{ITEMS}{bare.json()['id']}"
    # the echo of a program without program keys is no program metadata: nothing to validate, nothing stored
    echo = bare.json()["meta"]
    again = await client.patch(path, json={"name": "Bare", "meta": echo, "metadata": echo}, headers=admin.auth)
    assert again.status_code == 200 and again.json()["meta"] == echo, again.text
    assert await stored_meta(session, bare.json()["id"]) == {}
    full = await client.patch(path, json={"metadata": {**PROGRAM_META, **echo}}, headers=admin.auth)
    assert full.status_code == 200 and full.json()["metadata"] == {**PROGRAM_META, **echo}, full.text
    assert await stored_meta(session, bare.json()["id"]) == PROGRAM_META
    # a translation given in metadata alone lands in its column
    meta = {"name_ru": " Каракалпакстан ", "note": "added by staff"}
    region = await client.post(
        ITEMS, json={"type": "region", "name": "Karakalpakstan", "meta": meta}, headers=admin.auth
    )
    assert region.status_code == 201, region.text
    assert region.json()["name_ru"] == "Каракалпакстан" and region.json()["name_uz"] == ""
    assert region.json()["metadata"] == {"name_ru": "Каракалпакстан", "note": "added by staff"}
    assert await stored_meta(session, region.json()["id"]) == {"note": "added by staff"}
    # a non-blank column in the body wins over a name in metadata; a name in metadata alone edits its column
    region_path = f"{ITEMS}{region.json()['id']}"
    both = {"name_ru": "Каракалпакия", "metadata": {"name_ru": "stale", "name_en": "Karakalpakstan", "note": "x"}}
    edited = (await client.patch(region_path, json=both, headers=admin.auth)).json()
    assert (edited["name_ru"], edited["name_en"]) == ("Каракалпакия", "Karakalpakstan")
    assert edited["metadata"] == {"name_ru": "Каракалпакия", "name_en": "Karakalpakstan", "note": "x"}
    assert await stored_meta(session, region.json()["id"]) == {"note": "x"}
    # a name that is no name is 400 naming it, and changes nothing
    for wrong in (5, ["a"], "x" * 256):
        refused = await client.patch(region_path, json={"metadata": {"name_uz": wrong}}, headers=admin.auth)
        assert refused.status_code == 400 and refused.json()["field"] == "$.metadata.name_uz", refused.text
    assert (await client.get(region_path, headers=admin.auth)).json() == edited
    # a copy in the stored metadata (as `crm import reference` moves it in) is never answered over the columns
    moved = CatalogItem(
        type="region",
        code="REG-MOVED",
        name="Moved",
        name_uz="Yangi",
        meta={"name_uz": "Eski", "name_ru": "Старое", "k": 1},
    )
    session.add(moved)
    await session.commit()
    answered = (await client.get(f"{ITEMS}{moved.id}", headers=admin.auth)).json()
    assert answered["metadata"] == {"k": 1, "name_uz": "Yangi"}


async def test_codes_are_generated_per_type(client: AsyncTestClient[Litestar], admin: Account) -> None:
    codes = []
    for name in ("Karakalpak A", "Karakalpak B"):
        r = await client.post(ITEMS, json={"type": "region", "name_en": name}, headers=admin.auth)
        assert r.status_code == 201, r.text
        codes.append(r.json()["code"])
        assert r.json()["name"] == name  # the display name falls back to a translation
    assert codes == ["REGION-001", "REGION-002"]
    other = await client.post(ITEMS, json={"type": "other", "name": "Misc", "code": "  "}, headers=admin.auth)
    assert other.json()["code"] == "OTHER-001"
    explicit = await client.post(
        ITEMS, json={"type": "region", "name": "Seven", "code": "REGION-007"}, headers=admin.auth
    )
    assert explicit.status_code == 201
    after = await client.post(ITEMS, json={"type": "region", "name": "Next"}, headers=admin.auth)
    assert after.json()["code"] == "REGION-008"


async def test_duplicate_code_is_409_and_names_are_required(client: AsyncTestClient[Litestar], admin: Account) -> None:
    first = await client.post(ITEMS, json={"type": "track", "name": "T", "code": "TR-1"}, headers=admin.auth)
    assert first.status_code == 201
    dup = await client.post(ITEMS, json={"type": "track", "name": "T2", "code": "TR-1"}, headers=admin.auth)
    assert dup.status_code == 409 and dup.json()["code"] == "CODE_TAKEN" and dup.json()["field"] == "$.code"
    same_code_other_type = await client.post(
        ITEMS, json={"type": "subject", "name": "S", "code": "TR-1"}, headers=admin.auth
    )
    assert same_code_other_type.status_code == 201
    no_name = await client.post(ITEMS, json={"type": "track"}, headers=admin.auth)
    assert no_name.status_code == 400 and no_name.json()["field"] == "$.name"
    bad_type = await client.post(ITEMS, json={"type": "planet", "name": "Mars"}, headers=admin.auth)
    assert bad_type.status_code == 400 and bad_type.json()["field"] == "$.type"
    unknown = await client.post(ITEMS, json={"type": "track", "name": "x", "colour": "red"}, headers=admin.auth)
    assert unknown.status_code == 400 and unknown.json()["field"] == "$.colour"
    clash = await client.patch(
        f"{ITEMS}{same_code_other_type.json()['id']}", json={"type": "track"}, headers=admin.auth
    )
    assert clash.status_code == 409


async def test_invalid_program_metadata_rejected(client: AsyncTestClient[Litestar], admin: Account) -> None:
    partial = await client.post(
        ITEMS, json={"type": "program", "name": "P", "metadata": {"level": "bachelor"}}, headers=admin.auth
    )
    assert partial.status_code == 400
    body = partial.json()
    assert body["code"] == "INVALID_PROGRAM_METADATA" and body["field"] == "$.metadata"
    assert "duration_years, language, track" in body["detail"]
    wrong = await client.post(
        ITEMS,
        json={"type": "program", "name": "P", "metadata": {**PROGRAM_META, "level": "phd", "duration_years": 0}},
        headers=admin.auth,
    )
    assert wrong.status_code == 400
    assert {e["field"] for e in wrong.json()["errors"]} == {"$.metadata.level", "$.metadata.duration_years"}
    # Metadata is validated only when given (RS §12): a program without metadata is accepted.
    bare = await client.post(ITEMS, json={"type": "program", "name": "Bare"}, headers=admin.auth)
    assert bare.status_code == 201
    patched = await client.patch(f"{ITEMS}{bare.json()['id']}", json={"metadata": {"track": "x"}}, headers=admin.auth)
    assert patched.status_code == 400


async def test_referenced_item_cannot_be_deleted(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account
) -> None:
    ids = await seeded_catalog(session)
    session.add(RosterEntry(student_external_id="S1", program_id=ids["B-IT-ME"], course_year=1))
    session.add(EnrollmentHeadcount(program_id=ids["B-IT-ME"], course_year=1, student_count=30))
    await session.commit()
    response = await client.delete(f"{ITEMS}{ids['B-IT-ME']}", headers=admin.auth)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "CATALOG_ITEM_IN_USE"
    assert "1 roster rows" in body["detail"] and "1 enrollment headcounts" in body["detail"]
    assert "is_active=false" in body["detail"]
    retire = await client.patch(f"{ITEMS}{ids['B-IT-ME']}", json={"is_active": False}, headers=admin.auth)
    assert retire.status_code == 200 and retire.json()["is_active"] is False
    type_change = await client.patch(f"{ITEMS}{ids['B-IT-ME']}", json={"type": "direction"}, headers=admin.auth)
    assert type_change.status_code == 409
    assert await session.scalar(select(func.count()).select_from(CatalogItem).where(CatalogItem.id == ids["B-IT-ME"]))


async def test_list_filters_search_ordering_and_pages(
    client: AsyncTestClient[Litestar], session: AsyncSession, viewer: Account
) -> None:
    await seeded_catalog(session)
    found = await client.get(f"{ITEMS}?search=tashkent", headers=viewer.auth)
    assert {r["code"] for r in found.json()["results"]} == {"REG-TASHCITY", "REG-TASHREGION"}
    by_name = await client.get(f"{ITEMS}?type=region&ordering=-name&page_size=3", headers=viewer.auth)
    body = by_name.json()
    names = [r["name"] for r in body["results"]]
    assert names == sorted(names, reverse=True) and body["count"] == 15
    assert body["next"].endswith("page=2") and "ordering=-name" in body["next"]
    last = await client.get(f"{ITEMS}?type=region&ordering=-name&page_size=3&page=5", headers=viewer.auth)
    assert last.json()["next"] is None and len(last.json()["results"]) == 3
    assert (await client.get(f"{ITEMS}?type=region&page_size=3&page=6", headers=viewer.auth)).status_code == 404
    walked = []
    for page in (1, 2, 3):
        r = await client.get(f"{ITEMS}?page_size=20&page={page}", headers=viewer.auth)
        walked += [x["id"] for x in r.json()["results"]]
    assert len(walked) == len(set(walked)) == r.json()["count"]
    inactive = await client.get(f"{ITEMS}?is_active=false", headers=viewer.auth)
    assert inactive.json()["count"] == 0


async def test_bad_list_parameters_are_400(client: AsyncTestClient[Litestar], viewer: Account) -> None:
    for query, field in [
        ("page_size=501", "page_size"),
        ("page_size=0", "page_size"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("is_active=maybe", "is_active"),
        ("ordering=colour", "ordering"),
        ("type=planet", "type"),
        ("parent=not-a-uuid", "parent"),
    ]:
        response = await client.get(f"{ITEMS}?{query}", headers=viewer.auth)
        assert response.status_code == 400, query
        assert response.json()["field"] == field, (query, response.json())
    assert (await client.get(f"{ITEMS}?page_size=500", headers=viewer.auth)).status_code == 200


async def test_trailing_slash_optional(client: AsyncTestClient[Litestar], viewer: Account) -> None:
    assert (await client.get(f"{API}/catalog/items", headers=viewer.auth)).status_code == 200
    assert (await client.get(f"{API}/catalog/items/", headers=viewer.auth)).status_code == 200


async def test_program_endpoint_filters_by_level_and_track(
    client: AsyncTestClient[Litestar], session: AsyncSession, viewer: Account
) -> None:
    await seeded_catalog(session)
    r = await client.get(f"{API}/catalog/programs/?level=bachelor&track=italian", headers=viewer.auth)
    assert r.status_code == 200
    rows = r.json()["results"]
    assert "Mechanical Engineering" in {p["name"] for p in rows}
    assert all(p["level"] == "bachelor" and p["track"] == "italian" for p in rows)
    assert len(rows) == 6
    masters = (await client.get(f"{API}/catalog/programs/?level=master", headers=viewer.auth)).json()["results"]
    names = {p["name"] for p in masters}
    assert {"Mechatronic Engineering", "Master of Business Administration (MBA)"} <= names
    assert {p["track"] for p in masters} == {"n/a"}
    assert all(p["duration_years"] == 2 for p in masters)
    one = await client.get(f"{API}/catalog/programs/{masters[0]['id']}", headers=viewer.auth)
    assert one.json()["code"] == masters[0]["code"]
    bad = await client.get(f"{API}/catalog/programs/?level=phd", headers=viewer.auth)
    assert bad.status_code == 400 and bad.json()["field"] == "level"


async def test_seed_programs_idempotent(session: AsyncSession) -> None:
    for _ in range(2):
        await seed_catalog(session)
        await session.commit()
        codes = (await session.scalars(select(CatalogItem.code).where(CatalogItem.type == "program"))).all()
        assert len(codes) == len(set(codes)) == 13


async def test_relations_crud(client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account) -> None:
    ids = await seeded_catalog(session)
    rel = {
        "from_item_id": str(ids["B-UZ-SE"]),
        "to_item_id": str(ids["DIR-SOFT-UZ"]),
        "relation_type": "program_direction",
    }
    created = await client.post(f"{API}/catalog/relations/", json=rel, headers=admin.auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["from_item"]["code"] == "B-UZ-SE" and body["to_item"]["name_ru"] == "Программная инженерия 🇺🇿"
    dup = await client.post(f"{API}/catalog/relations/", json=rel, headers=admin.auth)
    assert dup.status_code == 409 and dup.json()["code"] == "RELATION_EXISTS"
    self_rel = await client.post(
        f"{API}/catalog/relations/", json={**rel, "to_item_id": rel["from_item_id"]}, headers=admin.auth
    )
    assert self_rel.status_code == 400
    unknown = await client.post(
        f"{API}/catalog/relations/", json={**rel, "to_item_id": str(uuid.uuid4())}, headers=admin.auth
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_CATALOG_REF"
    listed = await client.get(f"{API}/catalog/relations/?search=software", headers=admin.auth)
    assert listed.json()["count"] == 1
    path = f"{API}/catalog/relations/{body['id']}"
    patched = await client.patch(path, json={"sort_order": 3}, headers=admin.auth)
    assert patched.status_code == 200 and patched.json()["sort_order"] == 3
    assert (await client.delete(path, headers=admin.auth)).status_code == 204
    assert (await client.get(path, headers=admin.auth)).status_code == 404
