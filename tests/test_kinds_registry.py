"""The registry of application kinds (`ingest.contracts.kinds`) is the single source: each kind's table has the
columns it declares, and each batch kind names the endpoint that takes its body."""

from __future__ import annotations

from sqlalchemy import CheckConstraint

from ingest.contracts.fields import STATUSES
from ingest.contracts.kinds import APPLICATION_KINDS, BATCH_KINDS
from ingest.core.schema import metadata


def test_the_application_tables_are_the_registered_kinds():
    tables = {name for name in metadata.tables if name.startswith("bot1_") and name != "bot1_applicant"}
    assert tables == {kind.table for kind in APPLICATION_KINDS}


def test_each_kind_table_has_its_references_and_own_fields():
    for kind in APPLICATION_KINDS:
        table = metadata.tables[kind.table]
        for ref in kind.refs:
            column = table.c[f"{ref}_id"]
            assert [fk.column.table.name for fk in column.foreign_keys] == ["catalog_item"], (kind.slug, ref)
            assert column.nullable == (ref not in kind.required), (kind.slug, ref)
        assert set(kind.own_fields) <= set(table.c.keys()), kind.slug
        checks = [str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)]
        assert f"status IN ({', '.join(repr(s) for s in STATUSES)})" in checks, kind.slug


async def test_each_batch_kind_is_the_body_of_its_own_endpoint(client):
    doc = (await client.get("/schema/openapi.json")).json()
    for batch_kind in BATCH_KINDS.values():
        assert batch_kind.path.startswith(f"/{batch_kind.service}/"), batch_kind.name
        operation = doc["paths"][f"/api/v1{batch_kind.path}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"] == f"#/components/schemas/{batch_kind.struct.__name__}", batch_kind.name
    assert doc["components"]["schemas"]["BatchItem"]["properties"]["kind"]["enum"] == list(BATCH_KINDS)
