"""Imports every module that defines node tables, so `create_all` sees all of them.

Add one import line per module with SQLModel tables.
"""

import connector.dsp.tables
import connector.events.tables
import connector.pages.disclosure
import connector.peers
import connector.records.tables  # noqa: F401
import identifiers.registry  # noqa: F401
