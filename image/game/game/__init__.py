"""Gem grid: a small simultaneous-move grid game, its referee and its bot SDK.

Modules: rules (pure game logic), referee (trusted match process, pipes), sdk (for bots),
solo (the game imports the bot), local_match (development: spawns bots, no sandbox).
See ../PROTOCOL.md.
"""

__version__ = "1"
