"""Imports every module that defines node tables, so `create_all` sees all of them.

Add one import line per module with SQLModel tables.
"""

import connector.peers  # noqa: F401
