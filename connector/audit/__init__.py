"""The regulator's audit: walk an item's chain across nodes, re-verify all its evidence."""
