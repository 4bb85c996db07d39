"""Imports every module that defines node tables, so `create_all` sees all of them.

Add one import line per module with SQLModel tables.
"""

import connector.dsp.tables  # noqa: F401
import connector.events.tables  # noqa: F401
import connector.peers  # noqa: F401
import connector.records.tables  # noqa: F401
import identifiers.registry  # noqa: F401
