"""The Telegram bots (bot1: admissions, bot2: student survey) and what they share; see bots/README.md."""
