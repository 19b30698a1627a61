"""Bot2, the student and graduate survey, as the dispatcher runs it."""

from __future__ import annotations

from bots.bot2 import survey
from bots.dispatcher import BotSpec

BOT2 = BotSpec(routers=(survey.router,), home=survey.home, tidy_prompts=True)
