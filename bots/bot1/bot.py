"""Bot1, the admissions helper, as the dispatcher runs it."""

from __future__ import annotations

from bots.bot1 import apply, menu, registration
from bots.dispatcher import BotSpec

BOT1 = BotSpec(
    routers=(apply.menu_keys, registration.router, menu.router, apply.router),
    home=menu.home,
    silent_kinds=frozenset({"bot1.applicant"}),  # a profile sync is not news to the user once it is delivered
    settings_fields=registration.PROFILE_FIELDS,
)
