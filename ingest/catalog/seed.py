"""The real catalog (RS §7.2-7.5): directions, regions (with REG-FOREIGN), tracks, subjects and the 13 programs, with
trilingual names. `seed_catalog` upserts it by (type, code), so running it twice changes nothing."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import CatalogItem, utcnow
from ingest.core.upsert import dialect_insert


class Seed(NamedTuple):
    type: str
    code: str
    name_uz: str
    name_ru: str
    name_en: str
    meta: dict[str, Any]


def _d(code: str, uz: str, ru: str, en: str, diploma: str) -> Seed:
    return Seed("direction", code, uz, ru, en, {"diploma": diploma})


def _p(code: str, level: str, track: str, language: str, years: int, uz: str, ru: str, en: str) -> Seed:
    meta = {"level": level, "track": track, "language": language, "duration_years": years}
    return Seed("program", code, uz, ru, en, meta)


DIRECTIONS = [
    _d(
        "DIR-MECH-IT",
        "Mexanika muhandisligi 🇮🇹",
        "Машиностроительная инженерия 🇮🇹",
        "Mechanical Engineering 🇮🇹",
        "italian",
    ),
    _d("DIR-COMP-IT", "Kompyuter muhandisligi 🇮🇹", "Компьютерная инженерия 🇮🇹", "Computer Engineering 🇮🇹", "italian"),
    _d("DIR-CIVIL-IT", "Qurilish muhandisligi 🇮🇹", "Строительная инженерия 🇮🇹", "Civil Engineering 🇮🇹", "italian"),
    _d(
        "DIR-PROD-UZ",
        "Ishlab chiqarish muhandisligi 🇺🇿",
        "Производственная инженерия 🇺🇿",
        "Production Engineering 🇺🇿",
        "uzbek",
    ),
    _d(
        "DIR-SOFT-UZ",
        "Dasturiy ta'minot muhandisligi 🇺🇿",
        "Программная инженерия 🇺🇿",
        "Software Engineering 🇺🇿",
        "uzbek",
    ),
    _d("DIR-AUTO-UZ", "Avtomobil muhandisligi 🇺🇿", "Автомобильная инженерия 🇺🇿", "Automotive Engineering 🇺🇿", "uzbek"),
    _d("DIR-ARCH-UZ", "Arxitektura va dizayn 🇺🇿", "Архитектура и дизайн 🇺🇿", "Architecture and Design 🇺🇿", "uzbek"),
    _d("DIR-AVIA-UZ", "Aviatsiya muhandisligi 🇺🇿", "Авиационная инженерия 🇺🇿", "Aviation Engineering 🇺🇿", "uzbek"),
]

REGIONS = [
    Seed("region", code, uz, ru, en, {})
    for code, uz, ru, en in [
        ("REG-TASHCITY", "Toshkent shahri", "город Ташкент", "Tashkent city"),
        ("REG-TASHREGION", "Toshkent viloyati", "Ташкентская область", "Tashkent region"),
        ("REG-ANDIJAN", "Andijon", "Андижан", "Andijan"),
        ("REG-BUKHARA", "Buxoro", "Бухара", "Bukhara"),
        ("REG-FERGANA", "Farg'ona", "Фергана", "Fergana"),
        ("REG-JIZZAKH", "Jizzax", "Джизак", "Jizzakh"),
        ("REG-NAMANGAN", "Namangan", "Наманган", "Namangan"),
        ("REG-NAVOIY", "Navoiy", "Навои", "Navoiy"),
        ("REG-KASHKA", "Qashqadaryo", "Кашкадарья", "Kashkadarya"),
        ("REG-SAMARKAND", "Samarqand", "Самарканд", "Samarkand"),
        ("REG-SIRDARYA", "Sirdaryo", "Сырдарья", "Sirdarya"),
        ("REG-SURKHAN", "Surxondaryo", "Сурхандарья", "Surkhandarya"),
        ("REG-KHOREZM", "Xorazm", "Хорезм", "Khorezm"),
        ("REG-KARAKALPAK", "Qoraqalpog'iston Respublikasi", "Республика Каракалпакстан", "Republic of Karakalpakstan"),
        ("REG-FOREIGN", "Chet el", "Зарубежье", "Abroad"),  # a place (the region one lives in), not a person
    ]
]

TRACKS = [
    Seed("track", "TRACK-ITALIAN", "Italiya treki", "Итальянский трек", "Italian Track", {}),
    Seed("track", "TRACK-UZBEK", "O'zbek treki", "Узбекский трек", "Uzbek Track", {}),
]

SUBJECTS = [
    Seed("subject", code, uz, ru, en, {})
    for code, uz, ru, en in [
        ("SUBJ-MATH", "Matematika", "Математика", "Mathematics"),
        ("SUBJ-PHYSICS", "Fizika", "Физика", "Physics"),
        ("SUBJ-CHEMISTRY", "Kimyo", "Химия", "Chemistry"),
        ("SUBJ-BIOLOGY", "Biologiya", "Биология", "Biology"),
        ("SUBJ-INFORMATICS", "Informatika", "Информатика", "Informatics"),
        ("SUBJ-ENGLISH", "Ingliz tili", "Английский язык", "English Language"),
        ("SUBJ-RUSSIAN", "Rus tili", "Русский язык", "Russian Language"),
        ("SUBJ-HISTORY", "Tarix", "История", "History"),
    ]
]

_IT, _UZ, _EN = "Italian/English", "Uzbek/English", "English"
PROGRAMS = [
    _p(
        "B-IT-COMPE",
        "bachelor",
        "italian",
        _IT,
        4,
        "Sanoatda axborot texnologiyalari va dasturlash (Kompyuter muhandisligi)",
        "Информационные технологии и программирование в промышленности (Компьютерная инженерия)",
        "Information Technologies and Programming in Industry (Computer Engineering)",
    ),
    _p(
        "B-IT-ME",
        "bachelor",
        "italian",
        _IT,
        4,
        "Mexanika muhandisligi",
        "Машиностроительная инженерия",
        "Mechanical Engineering",
    ),
    _p(
        "B-IT-IMT",
        "bachelor",
        "italian",
        _IT,
        4,
        "Sanoat ishlab chiqarish texnologiyalari",
        "Промышленные производственные технологии",
        "Industrial Manufacturing Technologies",
    ),
    _p(
        "B-IT-ICEA",
        "bachelor",
        "italian",
        _IT,
        4,
        "Sanoat va fuqarolik muhandisligi va arxitektura",
        "Промышленная и гражданская инженерия и архитектура",
        "Industrial and Civil Engineering and Architecture",
    ),
    _p(
        "B-IT-AE",
        "bachelor",
        "italian",
        _IT,
        4,
        "Avtomobil muhandisligi",
        "Автомобильная инженерия",
        "Automotive Engineering",
    ),
    _p(
        "B-IT-AS",
        "bachelor",
        "italian",
        _IT,
        4,
        "Aerokosmik muhandislik",
        "Авиакосмическая инженерия",
        "Aerospace Engineering",
    ),
    _p(
        "B-UZ-SE",
        "bachelor",
        "uzbek",
        _UZ,
        4,
        "Dasturiy ta'minot muhandisligi",
        "Программная инженерия",
        "Software Engineering",
    ),
    _p(
        "B-UZ-AD", "bachelor", "uzbek", _UZ, 4, "Arxitektura va dizayn", "Архитектура и дизайн", "Architecture & Design"
    ),
    _p("B-UZ-BM", "bachelor", "uzbek", _UZ, 4, "Biznes menejment", "Бизнес-менеджмент", "Business Management"),
    _p(
        "M-MECH",
        "master",
        "n/a",
        _EN,
        2,
        "Mexatronika muhandisligi",
        "Мехатронная инженерия",
        "Mechatronic Engineering",
    ),
    _p(
        "M-ICE",
        "master",
        "n/a",
        _EN,
        2,
        "Axborot va kommunikatsiya muhandisligi",
        "Информационная и коммуникационная инженерия",
        "Information and Communication Engineering",
    ),
    _p(
        "M-RCHM",
        "master",
        "n/a",
        _EN,
        2,
        "Tarixiy yodgorliklarni tiklash va muhofaza qilish",
        "Реставрация и сохранение исторических памятников",
        "Restoration and Conservation of Historical Monuments",
    ),
    _p(
        "M-MBA",
        "master",
        "n/a",
        _EN,
        2,
        "Biznes boshqaruvi magistri (MBA)",
        "Магистр делового администрирования (MBA)",
        "Master of Business Administration (MBA)",
    ),
]

CATALOG: dict[str, list[Seed]] = {
    "direction": DIRECTIONS,
    "region": REGIONS,
    "track": TRACKS,
    "subject": SUBJECTS,
    "program": PROGRAMS,
}


def _rows() -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "type": s.type,
            "code": s.code,
            "name": s.name_en,
            "name_uz": s.name_uz,
            "name_ru": s.name_ru,
            "name_en": s.name_en,
            "meta": s.meta,
            "sort_order": position,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for seeds in CATALOG.values()
        for position, s in enumerate(seeds, start=1)
    ]


async def seed_catalog(session: AsyncSession, *, deactivate_missing: bool = False) -> dict[str, int]:
    """Upsert the real catalog; with `deactivate_missing`, retire other items of the seeded types.

    Returns how many items of each type were seeded, plus `deactivated`."""
    table = CatalogItem.__table__
    rows = [{("metadata" if k == "meta" else k): v for k, v in row.items()} for row in _rows()]
    stmt = dialect_insert(session, table).values(rows)
    updated = {c: stmt.excluded[c] for c in ("name", "name_uz", "name_ru", "name_en", "metadata", "sort_order")}
    updated |= {"is_active": True, "updated_at": stmt.excluded.updated_at}
    # Only touch rows whose content differs, so a second run leaves `updated_at` (and the warehouse) alone.
    changed = (
        (table.c.name != stmt.excluded.name)
        | (table.c.name_uz != stmt.excluded.name_uz)
        | (table.c.name_ru != stmt.excluded.name_ru)
        | (table.c.name_en != stmt.excluded.name_en)
        | (table.c.sort_order != stmt.excluded.sort_order)
        | (table.c.metadata != stmt.excluded.metadata)
        | (table.c.is_active.is_(False))
    )
    await session.execute(stmt.on_conflict_do_update(index_elements=["type", "code"], set_=updated, where=changed))
    counts = {kind: len(seeds) for kind, seeds in CATALOG.items()}
    counts["deactivated"] = 0
    if deactivate_missing:
        for kind, seeds in CATALOG.items():
            result = await session.execute(
                update(CatalogItem)
                .where(CatalogItem.type == kind, CatalogItem.is_active.is_(True))
                .where(CatalogItem.code.not_in([s.code for s in seeds]))
                .values(is_active=False, updated_at=utcnow())
            )
            counts["deactivated"] += result.rowcount or 0
    return counts
